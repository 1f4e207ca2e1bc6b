import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeployHistory, KEPT_PER_APP } from './history.js';

describe('DeployHistory', () => {
  it('records a deploy with its log and outcome, lists newest first, and keeps the last 20 per app', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swarmlet-history-'));
    const history = new DeployHistory(dir);
    const ids: string[] = [];
    for (let index = 0; index < KEPT_PER_APP + 2; index++) {
      const deploy = await history.start('shop', { commit: `c${index}`, branch: 'master' });
      deploy.log(`building ${index}`);
      deploy.log('done');
      await deploy.finish({
        status: 'succeeded',
        steps: [{ step: 'build', ms: 5 }],
        resolvedCompose: `version: "${index}"\n`,
      });
      ids.push(deploy.record.id);
    }
    const list = await history.list('shop');
    expect(list).toHaveLength(KEPT_PER_APP);
    expect(list[0]).toMatchObject({
      commit: `c${KEPT_PER_APP + 1}`,
      status: 'succeeded',
      steps: [{ step: 'build', ms: 5 }],
    });
    expect(list.at(-1)?.commit).toBe('c2');
    expect(readdirSync(join(dir, 'shop'))).toHaveLength(KEPT_PER_APP);
    expect(await history.log('shop', ids.at(-1) ?? '')).toBe(`building ${KEPT_PER_APP + 1}\ndone\n`);
    expect(await history.get('shop', ids[0] ?? '')).toBeUndefined();
    expect(await history.apps()).toEqual(['shop']);
  });

  it('refuses app names and ids that could reach outside its directory', async () => {
    const history = new DeployHistory(mkdtempSync(join(tmpdir(), 'swarmlet-history-')));
    await expect(history.start('../escape', { commit: 'c', branch: 'main' })).rejects.toThrow('invalid app name');
    await expect(history.list('a/b')).rejects.toThrow('invalid app name');
    expect(await history.get('shop', '../../etc')).toBeUndefined();
  });
});
