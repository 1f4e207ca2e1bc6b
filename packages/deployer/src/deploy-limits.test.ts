import {
  DEFAULT_LIMITS,
  formatDuration,
  LimitSettingError,
  parseDuration,
  resolveDeployLimits,
  validateLimitSettings,
} from './deploy-limits.js';
import { deadline, DeployStopped, stopOf, timeLimit } from './deploy-stop.js';

describe('deploy time limits', () => {
  it('reads durations in hours, minutes and seconds, or bare seconds', () => {
    expect(parseDuration('K', '30m')).toBe(30 * 60_000);
    expect(parseDuration('K', '90s')).toBe(90_000);
    expect(parseDuration('K', '1h30m')).toBe(90 * 60_000);
    expect(parseDuration('K', '2m30s')).toBe(150_000);
    expect(parseDuration('K', ' 2H ')).toBe(2 * 3_600_000);
    expect(parseDuration('K', '45')).toBe(45_000);
    expect(parseDuration('K', '24h')).toBe(24 * 3_600_000);
  });

  it('refuses anything else with one line naming the setting and what it takes', () => {
    for (const bad of ['', 'soon', '0', '0s', '25h', '-5m', '1.5h', '30 m', 'm', '1d', '5m 1s']) {
      expect(() => parseDuration('SWARMLET_BUILD_TIMEOUT', bad)).toThrow(LimitSettingError);
    }
    expect(() => parseDuration('SWARMLET_BUILD_TIMEOUT', 'soon')).toThrow(
      'SWARMLET_BUILD_TIMEOUT="soon" is not a time limit: give a duration such as 30m, 90s or 1h30m (from 1s to 24h)',
    );
  });

  it('says durations the way a person reads them', () => {
    expect(formatDuration(30 * 60_000)).toBe('30 min');
    expect(formatDuration(90 * 60_000)).toBe('1 h 30 min');
    expect(formatDuration(20_000)).toBe('20 s');
    expect(formatDuration(150_000)).toBe('2 min 30 s');
  });

  it("takes an app's settings over the platform's defaults, and refuses a bad one by name", () => {
    expect(DEFAULT_LIMITS.buildMs).toBe(30 * 60_000);
    expect(resolveDeployLimits(DEFAULT_LIMITS, { OTHER: 'x', SWARMLET_BUILD_TIMEOUT: '20s' })).toEqual({
      ...DEFAULT_LIMITS,
      buildMs: 20_000,
    });
    expect(resolveDeployLimits({ ...DEFAULT_LIMITS, convergeMs: 60_000 }, { SWARMLET_DEPLOY_TIMEOUT: '1h' })).toEqual({
      ...DEFAULT_LIMITS,
      convergeMs: 60_000,
      deployMs: 3_600_000,
    });
    expect(() => resolveDeployLimits(DEFAULT_LIMITS, { SWARMLET_PUSH_TIMEOUT: 'never' })).toThrow(
      /^SWARMLET_PUSH_TIMEOUT="never" is not a time limit/,
    );
    expect(() => {
      validateLimitSettings({ GREETING: 'not a duration', SWARMLET_CONVERGE_TIMEOUT: '10m' });
    }).not.toThrow();
    expect(() => {
      validateLimitSettings({ SWARMLET_ENGINE_TIMEOUT: '0s' });
    }).toThrow(/SWARMLET_ENGINE_TIMEOUT/);
  });

  it('aborts a deadline with the limit that passed, or with its parent, and finds the stop behind an error', async () => {
    const parent = new AbortController();
    const limited = deadline(parent.signal, timeLimit('SWARMLET_BUILD_TIMEOUT', 1000));
    await new Promise((resolve) => {
      limited.signal.addEventListener('abort', resolve, { once: true });
    });
    expect(limited.signal.reason).toEqual(expect.any(DeployStopped));
    expect((limited.signal.reason as DeployStopped).message).toBe('stopped after 1 s (SWARMLET_BUILD_TIMEOUT)');
    limited.clear();

    const unlimited = deadline(parent.signal, undefined);
    const cancelled = new DeployStopped('cancelled', 'cancelled by the server');
    parent.abort(cancelled);
    expect(unlimited.signal.reason).toBe(cancelled);
    unlimited.clear();

    const wrapped = new Error('build: stopped', { cause: new Error('inner', { cause: cancelled }) });
    expect(stopOf(wrapped)).toBe(cancelled);
    expect(stopOf(new Error('socket hang up'), parent.signal)).toBe(cancelled);
    expect(stopOf(new Error('socket hang up'))).toBeUndefined();
  });
});
