import { ConfigError, listenAddressSchema, overlayEnv, validateConfig, type Env } from '@swarmlet/common';
import { z } from 'zod';

const DURATION = /^(\d+)(ms|s|m|h)$/;
const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** A duration in milliseconds, written `10s`/`5m`/… or, as the CNCF registry also allows, as nanoseconds. */
const duration = z
  .union([z.number().nonnegative(), z.string().regex(DURATION, 'expected a duration such as 500ms, 10s, 5m, 1h')])
  .transform((value) => (typeof value === 'number' ? value / 1e6 : parseDuration(value, 'duration')));

const bool = z.union([z.boolean(), z.stringbool()]);

/** One `notifications.endpoints` entry; its name names its on-disk queue, so it is a plain file name. */
const endpoint = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected letters, digits, ".", "_" or "-"'),
  disabled: bool.default(false),
  url: z.url({ protocol: /^https?$/ }),
  headers: z.record(z.string(), z.array(z.string())).default({}),
  timeout: duration.default(1000),
  threshold: z.coerce.number().int().positive().default(10),
  backoff: duration.default(1000),
  ignoredmediatypes: z.array(z.string()).default([]),
  ignore: z
    .strictObject({
      mediatypes: z.array(z.string()).default([]),
      actions: z.array(z.enum(['push', 'pull', 'delete', 'mount'])).default([]),
    })
    .prefault({}),
});

/**
 * The CNCF registry's configuration file, restricted to the settings this registry implements. Settings that the
 * CNCF registry knows but that change nothing here (`log.fields`, `storage.cache`, `health`, …) are accepted so
 * an existing `config.yml` starts unchanged; anything else is an unknown setting.
 */
const schema = z.strictObject({
  version: z.union([z.string(), z.number()]).transform(String).default('0.1'),
  log: z
    .strictObject({
      level: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
      formatter: z.enum(['text', 'json', 'logstash']).optional(),
      fields: z.record(z.string(), z.unknown()).optional(),
      accesslog: z.strictObject({ disabled: bool.default(false) }).prefault({}),
    })
    .prefault({}),
  storage: z
    .strictObject({
      filesystem: z
        .strictObject({
          rootdirectory: z.string().min(1).default('/var/lib/registry'),
          maxthreads: z.coerce.number().int().positive().optional(),
        })
        .prefault({}),
      delete: z.strictObject({ enabled: bool.default(false) }).prefault({}),
      cache: z.strictObject({ blobdescriptor: z.string().optional() }).optional(),
      maintenance: z
        .strictObject({
          uploadpurging: z
            .strictObject({
              enabled: bool.default(true),
              age: duration.default(7 * 24 * 3_600_000),
              interval: duration.default(24 * 3_600_000),
              dryrun: bool.default(false),
            })
            .prefault({}),
          garbagecollect: z
            .strictObject({
              enabled: bool.default(false),
              interval: duration.default(24 * 3_600_000),
              deleteuntagged: bool.default(false),
              dryrun: bool.default(false),
              grace: duration.default(3_600_000),
            })
            .prefault({}),
          readonly: z.strictObject({ enabled: bool.optional() }).optional(),
        })
        .prefault({}),
      redirect: z.strictObject({ disable: bool.optional() }).optional(),
    })
    .prefault({}),
  auth: z
    .strictObject({
      htpasswd: z.strictObject({
        realm: z.string().min(1).default('Registry Realm'),
        path: z.string().min(1),
        maxconcurrentchecks: z.coerce.number().int().positive().optional(),
        throttle: z
          .strictObject({
            burst: z.coerce.number().int().positive().default(10),
            addressburst: z.coerce.number().int().positive().default(100),
            refill: duration.refine((ms) => ms > 0, 'expected a duration above zero').default(3000),
          })
          .prefault({}),
      }),
    })
    .optional(),
  http: z
    .strictObject({
      addr: listenAddressSchema.prefault(':5000'),
      net: z.literal('tcp').optional(),
      prefix: z.string().optional(),
      host: z.string().optional(),
      secret: z.string().optional(),
      relativeurls: bool.optional(),
      draintimeout: duration.optional(),
      headers: z.record(z.string(), z.array(z.string())).optional(),
      tls: z.strictObject({ certificate: z.string().min(1), key: z.string().min(1) }).optional(),
      http2: z.strictObject({ disabled: bool.optional() }).optional(),
    })
    .prefault({}),
  health: z.record(z.string(), z.unknown()).optional(),
  notifications: z
    .strictObject({
      events: z.strictObject({ includereferences: bool.optional() }).optional(),
      endpoints: z.array(endpoint).default([]),
    })
    .prefault({})
    .superRefine((notifications, context) => {
      const names = notifications.endpoints.map((entry) => entry.name);
      const repeated = names.find((name, index) => names.indexOf(name) !== index);
      if (repeated !== undefined) {
        context.addIssue({ code: 'custom', path: ['endpoints'], message: `endpoint name ${repeated} is used twice` });
      }
    }),
});

/** The registry's validated configuration. */
export type RegistryConfig = z.output<typeof schema>;

/** Every setting that a `REGISTRY_*` environment variable may set, as a lower-case dotted path. */
const ENV_SETTINGS = [
  'version',
  'log.level',
  'log.formatter',
  'log.accesslog.disabled',
  'storage.filesystem.rootdirectory',
  'storage.filesystem.maxthreads',
  'storage.delete.enabled',
  'storage.cache.blobdescriptor',
  'storage.redirect.disable',
  'storage.maintenance.uploadpurging.enabled',
  'storage.maintenance.uploadpurging.age',
  'storage.maintenance.uploadpurging.interval',
  'storage.maintenance.uploadpurging.dryrun',
  'storage.maintenance.garbagecollect.enabled',
  'storage.maintenance.garbagecollect.interval',
  'storage.maintenance.garbagecollect.deleteuntagged',
  'storage.maintenance.garbagecollect.dryrun',
  'storage.maintenance.garbagecollect.grace',
  'auth.htpasswd.realm',
  'auth.htpasswd.path',
  'auth.htpasswd.maxconcurrentchecks',
  'auth.htpasswd.throttle.burst',
  'auth.htpasswd.throttle.addressburst',
  'auth.htpasswd.throttle.refill',
  'http.addr',
  'http.net',
  'http.prefix',
  'http.host',
  'http.secret',
  'http.relativeurls',
  'http.draintimeout',
  'http.tls.certificate',
  'http.tls.key',
  'http.http2.disabled',
] as const;

/**
 * Builds the registry's configuration from the parsed YAML file (or `{}` without one) and the environment, as the
 * CNCF registry does: `REGISTRY_<PATH>` variables override the file (`REGISTRY_HTTP_ADDR` → `http.addr`), and
 * `REGISTRY_AUTH=htpasswd` selects htpasswd auth. Pure: it reads no file and no `process.env`.
 * @throws ConfigError naming the setting (YAML path or environment variable) that is unknown or invalid.
 */
export function loadRegistryConfig(file: unknown, env: Env): RegistryConfig {
  const { REGISTRY_AUTH: authType, ...rest } = env;
  const { config, sources } = overlayEnv(file, rest, 'REGISTRY', ENV_SETTINGS);
  if (authType !== undefined) {
    if (authType !== 'htpasswd') throw new ConfigError('REGISTRY_AUTH', `only htpasswd is supported, got ${authType}`);
    const auth = config.auth;
    config.auth = typeof auth === 'object' && auth !== null && 'htpasswd' in auth ? auth : { htpasswd: {} };
  }
  return validateConfig(schema, config, (path) => sources.get(path) ?? path);
}

/**
 * Parses a duration written as the CNCF registry writes them in config (`500ms`, `10s`, `5m`, `1h`) into
 * milliseconds.
 * @throws ConfigError naming `setting` when the text is not such a duration.
 */
export function parseDuration(text: string, setting: string): number {
  const match = DURATION.exec(text);
  if (!match)
    throw new ConfigError(setting, `expected a duration such as 500ms, 10s, 5m or 1h, got ${JSON.stringify(text)}`);
  return Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS];
}
