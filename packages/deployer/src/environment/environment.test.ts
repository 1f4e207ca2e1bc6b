import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleEnvironment } from './assemble.js';
import { DotenvError, parseDotenv } from './dotenv.js';
import { EntrypointError, sourceEntrypoint } from './entrypoint.js';

const PATH = '/usr/local/bin:/usr/bin:/bin';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-env-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('parseDotenv', () => {
  it('expands references against the platform and earlier lines, as data', () => {
    const text = [
      '# comment',
      'DOMAIN=${ROOT_DOMAIN}',
      'export API=api.$DOMAIN',
      'MODE=${MODE:-production}',
      "LITERAL='${DOMAIN} stays'",
      'PASSWORD=pa$$w0rd$',
      'COMMAND=$(touch /tmp/swarmlet-pwned) `id`',
      'MULTI="line one',
      'line two"',
      'QUOTED="${DOMAIN}" # trailing comment',
      '',
    ].join('\n');
    expect(parseDotenv(text, { ROOT_DOMAIN: 'example.test' })).toEqual({
      DOMAIN: 'example.test',
      API: 'api.example.test',
      MODE: 'production',
      LITERAL: '${DOMAIN} stays',
      PASSWORD: 'pa$w0rd$',
      COMMAND: '$(touch /tmp/swarmlet-pwned) `id`',
      MULTI: 'line one\nline two',
      QUOTED: 'example.test',
    });
  });

  it('names the line of a malformed entry or an unterminated quote', () => {
    expect(() => parseDotenv('A=1\nthis is not an entry\n', {})).toThrow(
      new DotenvError('.env', 2, 'expected NAME=value'),
    );
    expect(() => parseDotenv('A=1\nB="open\nC=3\n', {})).toThrow('.env line 2: unterminated " quote');
    expect(() => parseDotenv('A=${NEEDED:?set NEEDED}\n', {})).toThrow('NEEDED: set NEEDED');
  });
});

describe('sourceEntrypoint', () => {
  it('returns what the script exports, computed, and nothing of this process', async () => {
    process.env.SWARMLET_TEST_AGENT_SECRET = 'do-not-leak';
    const dir = tree({
      entrypoint:
        'echo "computing"\nexport IMAGE_TAG="${APP_NAME}-$(echo 42)"\nexport LEAKED="${SWARMLET_TEST_AGENT_SECRET:-none}"\nLOCAL_ONLY=1\necho "done" >&2\n',
    });
    const lines: string[] = [];
    const env = await sourceEntrypoint(dir, { PATH, APP_NAME: 'shop' }, 10_000, (line) => lines.push(line));
    delete process.env.SWARMLET_TEST_AGENT_SECRET;
    expect(env).toEqual({ PATH, APP_NAME: 'shop', IMAGE_TAG: 'shop-42', LEAKED: 'none' });
    expect(lines.sort()).toEqual(['computing', 'done']);
  });

  it('fails with the exit code and the last lines, or after the time-out', async () => {
    const failing = tree({ entrypoint: 'echo "checking config"\necho "missing secret" >&2\nexit 4\n' });
    await expect(sourceEntrypoint(failing, { PATH }, 10_000, () => undefined)).rejects.toThrow(EntrypointError);
    await expect(sourceEntrypoint(failing, { PATH }, 10_000, () => undefined)).rejects.toThrow(
      /exit code 4.*missing secret/,
    );
    const hanging = tree({ entrypoint: 'echo "waiting forever"\nsleep 100\n' });
    await expect(sourceEntrypoint(hanging, { PATH }, 1000, () => undefined)).rejects.toThrow(
      /timed out after 1 s.*waiting forever/,
    );
  });

  it('leaves the environment as it is when there is no entrypoint', async () => {
    expect(await sourceEntrypoint(tree({}), { PATH, A: '1' }, 1000, () => undefined)).toEqual({ PATH, A: '1' });
  });
});

describe('assembleEnvironment', () => {
  it('layers platform, .env and entrypoint, later winning', async () => {
    const dir = tree({
      '.env': 'DOMAIN=${ROOT_DOMAIN}\nAPP_NAME=overridden-by-env\nGREETING=hello\n',
      entrypoint: 'export GREETING="$GREETING from entrypoint"\nexport URL="https://$DOMAIN"\n',
    });
    const env = await assembleEnvironment(
      dir,
      { PATH, ROOT_DOMAIN: 'example.test', APP_NAME: 'shop' },
      10_000,
      () => undefined,
    );
    expect(env).toMatchObject({
      ROOT_DOMAIN: 'example.test',
      DOMAIN: 'example.test',
      APP_NAME: 'overridden-by-env',
      GREETING: 'hello from entrypoint',
      URL: 'https://example.test',
    });
  });
});
