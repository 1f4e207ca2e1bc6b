import { interpolateString, interpolateValue, InterpolationError } from './interpolate.js';

const env = { SET: 'value', EMPTY: '', REGISTRY: '127.0.0.1:5000', B: 'bee' };
const run = (text: string) => interpolateString(text, env, 'services.web.image');

describe('interpolateString', () => {
  it.each([
    ['$SET and ${SET}', 'value and value'],
    ['${UNSET}|$UNSET', '|'],
    ['${SET:-d} ${EMPTY:-d} ${UNSET:-d}', 'value d d'],
    ['${SET-d} ${EMPTY-d} ${UNSET-d}', 'value  d'],
    ['${SET:+r} ${EMPTY:+r} ${UNSET:+r}', 'r  '],
    ['${SET+r} ${EMPTY+r} ${UNSET+r}', 'r r '],
    ['${UNSET:-${B}} ${UNSET:-${ALSO:-deep}}', 'bee deep'],
    ['${REGISTRY}/app:${UNSET:-latest}', '127.0.0.1:5000/app:latest'],
    ['price: $$5, $${SET}', 'price: $5, ${SET}'],
    ['${SET:?must be set} ${EMPTY?ok when empty}', 'value '],
  ])('%s → %s', (text, expected) => {
    expect(run(text)).toBe(expected);
  });

  it('fails on a required variable, naming it, its message and the path', () => {
    expect(() => run('${UNSET:?set UNSET in .env}')).toThrow('services.web.image: UNSET: set UNSET in .env');
    expect(() => run('${EMPTY:?}')).toThrow('services.web.image: EMPTY: required variable EMPTY is empty');
    expect(() => run('${UNSET?}')).toThrow(/UNSET is not set/);
    try {
      run('${UNSET:?x}');
    } catch (error) {
      expect(error).toBeInstanceOf(InterpolationError);
      expect((error as InterpolationError).variable).toBe('UNSET');
    }
  });

  it.each(['${unterminated', '${1BAD}', '${SET:=x}', 'cost $5', '${}'])('refuses the malformed %s', (text) => {
    expect(() => run(text)).toThrow(InterpolationError);
  });
});

describe('interpolateValue', () => {
  it('interpolates values in maps and lists, never keys, and names the path of an error', () => {
    const parsed = {
      services: { web: { image: '${REGISTRY}/web', environment: ['A=${SET}'], '${SET}': 1, replicas: 2 } },
    };
    expect(interpolateValue(parsed, env)).toEqual({
      services: { web: { image: '127.0.0.1:5000/web', environment: ['A=value'], '${SET}': 1, replicas: 2 } },
    });
    expect(() => interpolateValue({ services: { web: { environment: ['ok', '${NEEDED:?}'] } } }, env)).toThrow(
      'services.web.environment[1]: NEEDED',
    );
  });
});
