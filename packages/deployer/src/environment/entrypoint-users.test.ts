import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConfineEntrypoints, EntrypointUsers } from './entrypoint-users.js';

describe('EntrypointUsers', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'swarmlet-users-')), 'entrypoint-users.json');

  it('runs as root here, so it can confine', () => {
    expect(canConfineEntrypoints()).toBe(true);
  });

  it('gives each app a uid of its own from the base up, the same one every time, recorded for the next start', async () => {
    const record = file();
    const users = new EntrypointUsers(record, 3000);
    const [web, api, webAgain] = await Promise.all([users.userFor('web'), users.userFor('api'), users.userFor('web')]);
    expect([web, api, webAgain]).toEqual([
      { uid: 3000, gid: 3000 },
      { uid: 3001, gid: 3001 },
      { uid: 3000, gid: 3000 },
    ]);
    expect(statSync(record).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({ web: 3000, api: 3001 });
    const restarted = new EntrypointUsers(record, 3000);
    expect(await restarted.userFor('api')).toEqual({ uid: 3001, gid: 3001 });
    expect(await restarted.userFor('worker')).toEqual({ uid: 3002, gid: 3002 });
  });

  it('refuses a record it cannot read, and keeps serving the next calls', async () => {
    const record = file();
    writeFileSync(record, '["web"]');
    const users = new EntrypointUsers(record, 3000);
    await expect(users.userFor('web')).rejects.toThrow('is not a record of entrypoint users');
    writeFileSync(record, '{}');
    expect(await users.userFor('web')).toEqual({ uid: 3000, gid: 3000 });
  });
});
