import { ConcurrencyLimit } from './concurrency-limit.js';
import { addressKey, LoginThrottle } from './login-throttle.js';

describe('LoginThrottle', () => {
  it('allows a burst per address and user, refills one attempt per interval and gives back successes', () => {
    let now = 0;
    const throttle = new LoginThrottle({ burst: 2, addressBurst: 3, refillMs: 10_000 }, () => now);
    expect(throttle.take('10.0.0.1', 'ci')).toBeUndefined();
    expect(throttle.take('10.0.0.1', 'ci')).toBeUndefined();
    expect(throttle.take('10.0.0.1', 'ci')).toBe(10);
    now = 2_500;
    expect(throttle.take('10.0.0.1', 'ci')).toBe(8);
    expect(throttle.take('10.0.0.1', 'ops')).toBeUndefined();
    expect(throttle.take('10.0.0.1', 'dev')).toBe(8);
    expect(throttle.take('10.0.0.2', 'ci')).toBeUndefined();
    throttle.giveBack('10.0.0.1', 'ops');
    expect(throttle.take('10.0.0.1', 'ops')).toBeUndefined();
    now = 10_000;
    expect(throttle.take('10.0.0.1', 'ci')).toBeUndefined();
    expect(throttle.take('10.0.0.1', 'ci')).toBe(10);
  });

  it('holds at most 100,000 counters, forgetting the oldest first', () => {
    const throttle = new LoginThrottle({ burst: 1, addressBurst: 1, refillMs: 3_600_000 }, () => 0);
    expect(throttle.take('198.51.100.1', 'ci')).toBeUndefined();
    expect(throttle.take('198.51.100.1', 'ci')).toBe(3600);
    for (let index = 0; index < 50_000; index += 1)
      throttle.take(`10.${String(index >> 8)}.${String(index & 255)}.1`, 'x');
    expect(throttle.take('198.51.100.1', 'ci')).toBeUndefined();
  });
});

describe('addressKey', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:aaaa::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:bbbb:cccc:dddd:eeee', '2001:db8:1:2::/64'],
    ['2001:DB8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('counts %s as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe('ConcurrencyLimit', () => {
  it('runs at most its limit at once, in arrival order, and frees a place when a task rejects', async () => {
    const limit = new ConcurrencyLimit(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const task = (index: number) => () =>
      new Promise<number>((resolve, reject) => {
        started.push(index);
        running += 1;
        peak = Math.max(peak, running);
        releases[index] = () => {
          running -= 1;
          if (index === 0) reject(new Error('task 0 failed'));
          else resolve(index);
        };
      });
    const results = [0, 1, 2, 3].map((index) => limit.run(task(index)));
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    releases[0]?.();
    await expect(results[0]).rejects.toThrow('task 0 failed');
    expect(started).toEqual([0, 1, 2]);
    releases[1]?.();
    releases[2]?.();
    await expect(results[2]).resolves.toBe(2);
    releases[3]?.();
    await expect(Promise.all(results.slice(1))).resolves.toEqual([1, 2, 3]);
    expect(peak).toBe(2);
  });

  it('refuses a limit below one', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });
});
