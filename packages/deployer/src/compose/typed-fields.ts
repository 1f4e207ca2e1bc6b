import { ComposeError } from './compose-error.js';

type Cast = 'integer' | 'number' | 'boolean' | 'port';

/**
 * The fields Docker Compose gives a type back after interpolation, as paths: `*` is any map key, `[]` any list
 * item. A published port stays text when it is not a single number (`8000-8010`).
 */
const TYPED_FIELDS: readonly (readonly [string, Cast])[] = [
  ['services.*.cpu_count', 'integer'],
  ['services.*.cpu_percent', 'number'],
  ['services.*.cpu_period', 'integer'],
  ['services.*.cpu_quota', 'integer'],
  ['services.*.cpu_rt_period', 'integer'],
  ['services.*.cpu_rt_runtime', 'integer'],
  ['services.*.cpus', 'number'],
  ['services.*.cpu_shares', 'integer'],
  ['services.*.init', 'boolean'],
  ['services.*.deploy.replicas', 'integer'],
  ['services.*.deploy.update_config.parallelism', 'integer'],
  ['services.*.deploy.update_config.max_failure_ratio', 'number'],
  ['services.*.deploy.rollback_config.parallelism', 'integer'],
  ['services.*.deploy.rollback_config.max_failure_ratio', 'number'],
  ['services.*.deploy.restart_policy.max_attempts', 'integer'],
  ['services.*.deploy.placement.max_replicas_per_node', 'integer'],
  ['services.*.healthcheck.retries', 'integer'],
  ['services.*.healthcheck.disable', 'boolean'],
  ['services.*.oom_kill_disable', 'boolean'],
  ['services.*.oom_score_adj', 'integer'],
  ['services.*.pids_limit', 'integer'],
  ['services.*.ports.[].target', 'integer'],
  ['services.*.ports.[].published', 'port'],
  ['services.*.privileged', 'boolean'],
  ['services.*.read_only', 'boolean'],
  ['services.*.scale', 'integer'],
  ['services.*.stdin_open', 'boolean'],
  ['services.*.tty', 'boolean'],
  ['services.*.ulimits.*', 'integer'],
  ['services.*.ulimits.*.hard', 'integer'],
  ['services.*.ulimits.*.soft', 'integer'],
  ['services.*.volumes.[].read_only', 'boolean'],
  ['services.*.volumes.[].volume.nocopy', 'boolean'],
  ['networks.*.external', 'boolean'],
  ['networks.*.internal', 'boolean'],
  ['networks.*.attachable', 'boolean'],
  ['networks.*.enable_ipv6', 'boolean'],
  ['volumes.*.external', 'boolean'],
  ['secrets.*.external', 'boolean'],
  ['configs.*.external', 'boolean'],
];

const BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  yes: true,
  y: true,
  on: true,
  false: false,
  no: false,
  n: false,
  off: false,
};

/**
 * Gives the fields that Docker Compose types (replicas, ports, flags, …, see {@link TYPED_FIELDS}) their type
 * back when they hold text, as they do after interpolation (`replicas: ${REPLICAS}`), since `docker stack
 * deploy` reads the resolved file as typed. Booleans accept true/false (and yes/no/on/off/y/n, any case). Returns
 * a new value sharing what it does not change. Pure.
 * @throws ComposeError naming `file`, the field's path and the text when it is not of the field's type.
 */
export function restoreTypes(compose: unknown, file: string): unknown {
  return TYPED_FIELDS.reduce(
    (value, [path, cast]) => castAt(value, path.split('.'), '', (text, where) => convert(text, cast, where, file)),
    compose,
  );
}

function castAt(
  value: unknown,
  segments: readonly string[],
  where: string,
  cast: (text: string, where: string) => unknown,
): unknown {
  const [segment, ...rest] = segments;
  if (segment === undefined) return typeof value === 'string' ? cast(value, where) : value;
  if (segment === '[]') {
    return Array.isArray(value) ? value.map((item, index) => castAt(item, rest, `${where}[${index}]`, cast)) : value;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const keys = segment === '*' ? Object.keys(value) : Object.hasOwn(value, segment) ? [segment] : [];
  if (keys.length === 0) return value;
  const copy: Record<string, unknown> = { ...value };
  for (const key of keys) copy[key] = castAt(copy[key], rest, where ? `${where}.${key}` : key, cast);
  return copy;
}

function convert(text: string, cast: Cast, where: string, file: string): unknown {
  const trimmed = text.trim();
  if (cast === 'boolean') {
    const flag = BOOLEANS[trimmed.toLowerCase()];
    if (flag !== undefined) return flag;
  } else if (/^[+-]?\d+$/.test(trimmed)) {
    return Number(trimmed);
  } else if (cast === 'number' && trimmed !== '' && Number.isFinite(Number(trimmed))) {
    return Number(trimmed);
  } else if (cast === 'port') {
    return text;
  }
  const expected = { integer: 'an integer', number: 'a number', boolean: 'true or false', port: 'a port' }[cast];
  throw new ComposeError(`${file}: ${where} must be ${expected}, not ${JSON.stringify(text)}`, { file });
}
