const APP_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/**
 * Validates an app name: lower-case letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most
 * 63 characters, no `..`. A valid name is safe as one path segment and as a swarm stack name.
 * @throws Error saying what a name may contain.
 */
export function validateAppName(name: string): string {
  if (!isAppName(name)) {
    throw new Error(
      `invalid app name ${JSON.stringify(name.slice(0, 80))}: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit`,
    );
  }
  return name;
}

/** Whether `name` is a valid app name (see {@link validateAppName}). */
export function isAppName(name: string): boolean {
  return APP_NAME.test(name) && !name.includes('..');
}
