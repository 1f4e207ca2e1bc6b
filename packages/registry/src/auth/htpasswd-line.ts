import bcrypt from 'bcryptjs';

/** The bcrypt cost of the entries {@link htpasswdLine} makes, as `htpasswd -B` uses by default. */
const COST = 10;

const USER = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * One htpasswd entry, `user:$2b$…`, for `user` and the password read from `input` (its first line; a trailing
 * newline is not part of it). The password never appears in an argument or a log.
 * @throws Error when the user name is not letters, digits, `.`, `_` or `-`, or the password is empty or longer
 * than bcrypt's 72 bytes.
 */
export async function htpasswdLine(user: string, input: string): Promise<string> {
  if (!USER.test(user))
    throw new Error(`invalid user name ${JSON.stringify(user)}: use letters, digits, '.', '_', '-'`);
  const password = input.split(/\r?\n/)[0] ?? '';
  if (password === '') throw new Error('empty password on standard input');
  if (Buffer.byteLength(password) > 72) throw new Error('the password is longer than bcrypt’s 72 bytes');
  return `${user}:${await bcrypt.hash(password, COST)}`;
}
