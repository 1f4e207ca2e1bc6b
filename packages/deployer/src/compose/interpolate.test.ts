import { interpolateString, interpolateValue, InterpolationError } from './interpolate.js';

const env = { SET: 'value', EMPTY: '', REGISTRY: '127.0.0.1:5000', B: 'bee', JSON: '{"json":2}', lower_case: 'lc' };
const run = (text: string): string => interpolateString(text, env, 'services.web.image');

function failure(action: () => unknown): InterpolationError {
  try {
    action();
  } catch (error) {
    if (error instanceof InterpolationError) return error;
    throw error;
  }
  throw new Error('expected an InterpolationError');
}

describe('interpolateString', () => {
  it.each([
    ['no variables at all', 'no variables at all'],
    ['$SET and ${SET}', 'value and value'],
    ['${lower_case} $lower_case', 'lc lc'],
    ['$SET-suffix $SET.txt ${SET}x', 'value-suffix value.txt valuex'],
    ['${UNSET}|$UNSET|${EMPTY}', '||'],
    ['${SET:-d} ${EMPTY:-d} ${UNSET:-d}', 'value d d'],
    ['${SET-d} ${EMPTY-d} ${UNSET-d}', 'value  d'],
    ['${SET:+r} ${EMPTY:+r} ${UNSET:+r}', 'r  '],
    ['${SET+r} ${EMPTY+r} ${UNSET+r}', 'r r '],
    ['${SET:?must be set} ${EMPTY?may be empty}', 'value '],
    ['${UNSET:-} ${UNSET-}', ' '],
    ['${REGISTRY}/app:${UNSET:-latest}', '127.0.0.1:5000/app:latest'],
    ['${JSON}', '{"json":2}'],
  ])('%s → %s', (text, expected) => {
    expect(run(text)).toBe(expected);
  });

  it.each([
    ['${UNSET:-${B}}', 'bee'],
    ['${UNSET:-${ALSO:-deep}}', 'deep'],
    ['${UNSET-$SET}', 'value'],
    ['${UNSET-${SET} ${SET}}', 'value value'],
    ['${EMPTY:-${SET} and $B}', 'value and bee'],
    ['${EMPTY+$SET ${SET:+second}}', 'value second'],
    ['${UNSET:+${SET},}B', 'B'],
    ['${SET:+${SET},}B', 'value,B'],
    ['${UNSET:-${B}} then ${SET}', 'bee then value'],
    ['${EMPTY:-/non:-alphanumeric}', '/non:-alphanumeric'],
    ['${UNSET:-{"a":1}}', '{"a":1}'],
    ['${UNSET:-a}}', 'a}'],
    [':?ok ${EMPTY:-defaultValue} -ok', ':?ok defaultValue -ok'],
    ['+ok ${UNSET:-${EMPTY-defaultValue}}', '+ok '],
  ])('nests and delimits %s → %s', (text, expected) => {
    expect(run(text)).toBe(expected);
  });

  it.each([
    ['$$', '$'],
    ['price: $$5, $${SET}', 'price: $5, ${SET}'],
    ['$$$SET', '$value'],
    ['a $ string', 'a $ string'],
    ['^REGEX$', '^REGEX$'],
    ['$}', '$}'],
    ['cost $5 or $-1', 'cost $5 or $-1'],
    ['$(rm -rf /) `id`', '$(rm -rf /) `id`'],
  ])('keeps a $ that starts no expression: %s → %s', (text, expected) => {
    expect(run(text)).toBe(expected);
  });

  it('evaluates a default or message only when it is used', () => {
    expect(run('${SET:-${NEEDED:?never evaluated}}')).toBe('value');
    expect(run('${SET?${NEEDED:?never evaluated}}')).toBe('value');
    expect(run('${UNSET:+${NEEDED:?never evaluated}}')).toBe('');
  });

  it('fails on a missing required variable, naming the path, the variable and its message', () => {
    const withMessage = failure(() => run('${API_KEY:?set API_KEY in .env}'));
    expect(withMessage.message).toBe('services.web.image: API_KEY: set API_KEY in .env');
    expect(withMessage).toMatchObject({
      path: 'services.web.image',
      variable: 'API_KEY',
      reason: 'API_KEY: set API_KEY in .env',
    });
    expect(failure(() => run('${EMPTY:?}')).message).toBe('services.web.image: required variable EMPTY is empty');
    expect(failure(() => run('x ${UNSET?}')).message).toBe('services.web.image: required variable UNSET is not set');
    expect(failure(() => run('${UNSET:?need ${B} here}')).message).toBe('services.web.image: UNSET: need bee here');
    expect(failure(() => run('${UNSET:-${INNER:?inner missing}}')).variable).toBe('INNER');
  });

  it.each([
    ['${unterminated', /invalid interpolation format in "\$\{unterminated": "\$\{" is not closed by "\}" on its line/],
    ['${SET:-x\n}', /not closed by "\}" on its line/],
    ['${}', /^services\.web\.image: invalid interpolation format in "\$\{\}"$/],
    ['${ SET}', /invalid interpolation format/],
    ['${SET }', /invalid interpolation format/],
    ['${1BAD}', /invalid interpolation format/],
    ['${SET:=x}', /invalid interpolation format/],
    ['${SET!}', /invalid interpolation format/],
    ['ok ${UNSET:-${}}', /invalid interpolation format in "\$\{\}"/],
  ])('refuses the malformed %j, naming the path', (text, message) => {
    const error = failure(() => run(text));
    expect(error.path).toBe('services.web.image');
    expect(error.variable).toBeUndefined();
    expect(error.message).toMatch(message);
  });
});

describe('interpolateValue', () => {
  it('interpolates strings in maps and lists at any depth, never keys, and keeps other scalars', () => {
    const parsed = {
      services: {
        web: {
          image: '${REGISTRY}/web',
          environment: ['A=${SET}', { nested: ['${B}'] }],
          labels: { '${SET}': '$SET' },
          replicas: 2,
          tty: true,
          healthcheck: null,
        },
      },
    };
    const before = structuredClone(parsed);
    expect(interpolateValue(parsed, env)).toEqual({
      services: {
        web: {
          image: '127.0.0.1:5000/web',
          environment: ['A=value', { nested: ['bee'] }],
          labels: { '${SET}': 'value' },
          replicas: 2,
          tty: true,
          healthcheck: null,
        },
      },
    });
    expect(parsed).toEqual(before);
  });

  it('names the path of the failing value, with list indexes and a prefix', () => {
    const compose = { services: { web: { environment: ['ok', '${NEEDED:?}'], deploy: { labels: { a: '${' } } } } };
    expect(failure(() => interpolateValue(compose, env)).path).toBe('services.web.environment[1]');
    expect(failure(() => interpolateValue({ a: ['${NEEDED?}'] }, env, 'x')).path).toBe('x.a[0]');
    expect(failure(() => interpolateValue('${NEEDED?}', env)).path).toBe('(top level)');
  });
});
