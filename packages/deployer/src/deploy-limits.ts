/** The time limits of one deploy, in milliseconds. */
export interface DeployLimits {
  /** The build step: every image of the deploy (`SWARMLET_BUILD_TIMEOUT`). */
  buildMs: number;
  /** The push step: every tag of every image (`SWARMLET_PUSH_TIMEOUT`). */
  pushMs: number;
  /** `docker stack deploy` (`SWARMLET_STACK_DEPLOY_TIMEOUT`). */
  stackDeployMs: number;
  /** Waiting until the stack runs the new version (`SWARMLET_CONVERGE_TIMEOUT`). */
  convergeMs: number;
  /** Each Engine call outside the build and push streams: inspect, tag, list, update (`SWARMLET_ENGINE_TIMEOUT`). */
  engineCallMs: number;
  /** The whole deploy, checkout to convergence (`SWARMLET_DEPLOY_TIMEOUT`); no limit but the steps' when undefined. */
  deployMs?: number;
}

/** A limit's setting: the config key (per app) and agent variable (platform default) that set it. */
export type LimitKey =
  | 'SWARMLET_BUILD_TIMEOUT'
  | 'SWARMLET_PUSH_TIMEOUT'
  | 'SWARMLET_STACK_DEPLOY_TIMEOUT'
  | 'SWARMLET_CONVERGE_TIMEOUT'
  | 'SWARMLET_ENGINE_TIMEOUT'
  | 'SWARMLET_DEPLOY_TIMEOUT';

/** Each limit's setting, by the field of {@link DeployLimits} it sets. */
export const LIMIT_KEYS: Readonly<Record<keyof DeployLimits, LimitKey>> = {
  buildMs: 'SWARMLET_BUILD_TIMEOUT',
  pushMs: 'SWARMLET_PUSH_TIMEOUT',
  stackDeployMs: 'SWARMLET_STACK_DEPLOY_TIMEOUT',
  convergeMs: 'SWARMLET_CONVERGE_TIMEOUT',
  engineCallMs: 'SWARMLET_ENGINE_TIMEOUT',
  deployMs: 'SWARMLET_DEPLOY_TIMEOUT',
};

/**
 * The platform's limits when its settings give none: build 30 min, push 10 min, `docker stack deploy` 5 min,
 * convergence 5 min, one Engine call 2 min, no limit on the whole deploy beyond its steps'.
 */
export const DEFAULT_LIMITS: Readonly<DeployLimits> = {
  buildMs: 30 * 60_000,
  pushMs: 10 * 60_000,
  stackDeployMs: 5 * 60_000,
  convergeMs: 5 * 60_000,
  engineCallMs: 2 * 60_000,
};

/** The longest limit a setting may give: one day. */
export const MAX_LIMIT_MS = 24 * 3_600_000;

/** A limit's setting that is not a duration; the message names the setting and says what it takes. */
export class LimitSettingError extends Error {
  constructor(key: string, value: string) {
    super(
      `${key}=${JSON.stringify(value.slice(0, 40))} is not a time limit: give a duration such as 30m, 90s or 1h30m ` +
        `(from 1s to 24h)`,
    );
    this.name = 'LimitSettingError';
  }
}

const DURATION = /^(?:(\d{1,5})h)?(?:(\d{1,5})m)?(?:(\d{1,6})s)?$/;

/**
 * A duration as the limit settings take it, in milliseconds: `90s`, `30m`, `2h`, `1h30m`, `2m30s`, or a bare number
 * of seconds; from 1 s to 24 h.
 * @throws LimitSettingError naming `key` for anything else.
 */
export function parseDuration(key: string, text: string): number {
  const trimmed = text.trim().toLowerCase();
  const match = /^\d{1,6}$/.test(trimmed) ? [trimmed, undefined, undefined, trimmed] : DURATION.exec(trimmed);
  if (!match || trimmed === '') throw new LimitSettingError(key, text);
  const [, hours = '0', minutes = '0', seconds = '0'] = match;
  const ms = ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000;
  if (ms < 1000 || ms > MAX_LIMIT_MS) throw new LimitSettingError(key, text);
  return ms;
}

/** A duration for a person: `45 s`, `30 min`, `1 h 30 min`, `2 min 30 s`. */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const parts = [hours && `${hours} h`, minutes && `${minutes} min`, seconds && `${seconds} s`].filter(Boolean);
  return parts.length ? parts.join(' ') : '0 s';
}

/** Whether `key` is one of the limit settings. */
export function isLimitKey(key: string): key is LimitKey {
  return Object.values(LIMIT_KEYS).includes(key as LimitKey);
}

/**
 * Checks the limit settings among `config` (other keys are ignored), as `config set` and a deploy's start do.
 * @throws LimitSettingError for the first one that is not a duration.
 */
export function validateLimitSettings(config: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(config)) if (isLimitKey(key)) parseDuration(key, value);
}

/**
 * The limits of a deploy of an app: the platform's `defaults`, each replaced by the app's config value of its
 * setting when the app has one. Pure.
 * @throws LimitSettingError naming the first app setting that is not a duration.
 */
export function resolveDeployLimits(
  defaults: Readonly<DeployLimits>,
  config: Readonly<Record<string, string>>,
): DeployLimits {
  const limits: DeployLimits = { ...defaults };
  for (const field of Object.keys(LIMIT_KEYS) as (keyof DeployLimits)[]) {
    const key = LIMIT_KEYS[field];
    const value = config[key];
    if (value !== undefined) limits[field] = parseDuration(key, value);
  }
  return limits;
}
