export { createLogger, REDACTED_PATHS, type CreateLoggerOptions, type Logger } from './logger.js';
export { ConfigError, overlayEnv, parseYaml, readYamlFile, validateConfig, type Env } from './config.js';
export { listenAddressSchema, type ListenAddress } from './listen-address.js';
export { readStdin, runMain, untilSignal } from './process.js';
export { closeServer, listen, listenWhenFree } from './http-server.js';
export { createFileOnce, replaceFile } from './atomic-file.js';
export { loadHtpasswd, type Htpasswd, type HtpasswdOptions } from './auth/htpasswd.js';
export { addressKey, LoginThrottle, type ThrottleSettings } from './auth/login-throttle.js';
export { ConcurrencyLimit } from './auth/concurrency-limit.js';
