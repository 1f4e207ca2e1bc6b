const APP_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

/**
 * Stack names the platform deploys that are not core apps (no repository of their own): an app of that name would
 * replace the platform's stack. `forwarder` is the registry forwarder of host publish mode (stacks/forwarder).
 */
export const PLATFORM_STACKS: readonly string[] = ['forwarder'];

/**
 * Validates an app name: lower-case letters, digits, `-`, `_` and `.`, starting with a letter or digit, at most
 * 63 characters, no `..`, and not one of {@link PLATFORM_STACKS}. A valid name is safe as one path segment and as a
 * swarm stack name.
 * @throws Error saying what a name may contain.
 */
export function validateAppName(name: string): string {
  if (PLATFORM_STACKS.includes(name)) {
    throw new Error(`${name} is the name of one of the platform's own stacks: choose another app name`);
  }
  if (!isAppName(name)) {
    throw new Error(
      `invalid app name ${JSON.stringify(name.slice(0, 80))}: use lower-case letters, digits, '-', '_' and '.', starting with a letter or digit`,
    );
  }
  return name;
}

/** Whether `name` is a valid app name (see {@link validateAppName}). */
export function isAppName(name: string): boolean {
  return APP_NAME.test(name) && !name.includes('..') && !PLATFORM_STACKS.includes(name);
}
