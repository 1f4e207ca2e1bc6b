import { parseSince, SinceError } from './log-since.js';

describe('parseSince', () => {
  const now = new Date('2026-11-30T12:00:00Z');
  const seconds = now.getTime() / 1000;

  it('reads durations back from now', () => {
    expect(parseSince('45s', now)).toBe(seconds - 45);
    expect(parseSince('10m', now)).toBe(seconds - 600);
    expect(parseSince('1h30m', now)).toBe(seconds - 5400);
    expect(parseSince('2d', now)).toBe(seconds - 172_800);
    expect(parseSince('1.5h', now)).toBe(seconds - 5400);
    expect(parseSince('500ms', now)).toBeCloseTo(seconds - 0.5);
  });

  it('reads RFC 3339 times, dates and Unix seconds', () => {
    expect(parseSince('2026-11-30T11:00:00Z', now)).toBe(seconds - 3600);
    expect(parseSince('2026-11-30T13:00:00+02:00', now)).toBe(seconds - 3600);
    expect(parseSince('2026-11-30T11:00:00', now)).toBe(seconds - 3600);
    expect(parseSince('2026-11-30', now)).toBe(seconds - 43_200);
    expect(parseSince('1764500000', now)).toBe(1_764_500_000);
  });

  it('refuses anything else, naming both forms', () => {
    for (const text of ['nonsense', '10', '10x', '-5m', '2026-13-45T99:00:00Z', '', 'm']) {
      expect(() => parseSince(text, now)).toThrow(SinceError);
    }
    expect(() => parseSince('nonsense', now)).toThrow('neither a duration (10m, 1h30m, 2d) nor a time');
  });
});
