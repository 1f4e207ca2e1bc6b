const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** A `--since` value that is neither a duration nor a time. */
export class SinceError extends Error {
  constructor(text: string) {
    super(
      `--since ${JSON.stringify(text.slice(0, 80))} is neither a duration (10m, 1h30m, 2d) nor a time (2026-11-30T12:00:00Z, or Unix seconds)`,
    );
    this.name = 'SinceError';
  }
}

/**
 * Reads `logs --since` as `docker service logs` does: a duration back from `now` (`45s`, `10m`, `1h30m`, `2d`),
 * an RFC 3339 date or time (a time without zone is UTC), or Unix seconds. Resolves with Unix seconds. Pure.
 * @throws SinceError for anything else, or a time that is not a real date.
 */
export function parseSince(text: string, now: Date): number {
  if (DURATION.test(text)) {
    let seconds = 0;
    for (const [, amount, unit] of text.matchAll(DURATION_PART))
      seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
    return now.getTime() / 1000 - seconds;
  }
  if (/^\d{9,}(?:\.\d+)?$/.test(text)) return Number(text);
  if (DATE_TIME.test(text)) {
    const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/.test(text) || !text.includes(':') ? text : `${text}Z`;
    const time = Date.parse(zoned.replace(' ', 'T'));
    if (!Number.isNaN(time)) return time / 1000;
  }
  throw new SinceError(text);
}
