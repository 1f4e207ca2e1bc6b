import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { DeployHistory, KEPT_PER_APP } from './history.js';

const historyDir = (): string => mkdtempSync(join(tmpdir(), 'swarmlet-history-'));

/** Lets the log's write stream reach the disk: its writes complete on later turns of the event loop. */
async function logOnDisk(history: DeployHistory, app: string, id: string, expected: string): Promise<string> {
  let text = '';
  for (let turn = 0; turn < 200 && text !== expected; turn++) {
    await new Promise((resolve) => setImmediate(resolve));
    text = (await history.log(app, id)) ?? '';
  }
  return text;
}

describe('DeployHistory', () => {
  it('writes the record when a deploy starts, appends the log as it streams, and the outcome at the end', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir);
    const deploy = await history.start('shop', { commit: 'abc123', branch: 'master' });
    const { id } = deploy.record;
    expect(id).toMatch(/^\d{8}T\d{9}Z-[0-9a-f]{6}$/);
    const running = JSON.parse(readFileSync(join(dir, 'shop', id, 'record.json'), 'utf8')) as unknown;
    expect(running).toEqual({
      id,
      app: 'shop',
      commit: 'abc123',
      branch: 'master',
      status: 'running',
      startedAt: deploy.record.startedAt,
      steps: [],
      images: [],
    });
    deploy.log('-----> checkout');
    deploy.log('building web');
    expect(await logOnDisk(history, 'shop', id, '-----> checkout\nbuilding web\n')).toBe(
      '-----> checkout\nbuilding web\n',
    );
    deploy.log('done');
    const finished = await deploy.finish({
      status: 'succeeded',
      steps: [
        { step: 'build', ms: 1200 },
        { step: 'push', ms: 300 },
      ],
      images: [{ service: 'web', reference: '127.0.0.1:5000/shop-web:abc123', digest: 'sha256:00ff' }],
      urls: ['https://shop.example.test'],
      resolvedCompose: 'services:\n  web:\n    image: 127.0.0.1:5000/shop-web:abc123\n',
    });
    expect(finished.finishedAt).toEqual(expect.any(String));
    expect(await history.get('shop', id)).toEqual(finished);
    expect(finished).toMatchObject({
      id,
      status: 'succeeded',
      steps: [
        { step: 'build', ms: 1200 },
        { step: 'push', ms: 300 },
      ],
      images: [{ service: 'web', digest: 'sha256:00ff' }],
      resolvedCompose: expect.stringContaining('shop-web:abc123') as string,
    });
    expect(await history.log('shop', id)).toBe('-----> checkout\nbuilding web\ndone\n');
    expect(readdirSync(join(dir, 'shop', id)).sort()).toEqual(['log', 'record.json']);
  });

  it('lists an app newest first and keeps its last 20 deploys, leaving other apps alone', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir);
    const other = await history.start('blog', { commit: 'b0', branch: 'main' });
    await other.finish({ status: 'failed', error: 'build: no Dockerfile' });
    const ids: string[] = [];
    const dropped: string[] = [];
    for (let index = 0; index < KEPT_PER_APP + 3; index++) {
      const deploy = await history.start('shop', { commit: `c${index}`, branch: 'master' });
      deploy.log(`deploy ${index}`);
      await deploy.finish({ status: 'succeeded' });
      ids.push(deploy.record.id);
      dropped.push(...(await history.prune('shop')).map((record) => record.commit));
    }
    expect(dropped).toEqual(['c0', 'c1', 'c2']);
    const list = await history.list('shop');
    expect(KEPT_PER_APP).toBe(20);
    expect(list.map((record) => record.commit)).toEqual(
      Array.from({ length: KEPT_PER_APP }, (_, index) => `c${KEPT_PER_APP + 2 - index}`),
    );
    expect(readdirSync(join(dir, 'shop')).sort()).toEqual(ids.slice(3).sort());
    expect(await history.get('shop', ids[0] ?? '')).toBeUndefined();
    expect(await history.log('shop', ids[2] ?? '')).toBeUndefined();
    expect(await history.log('shop', ids.at(-1) ?? '')).toBe(`deploy ${KEPT_PER_APP + 2}\n`);
    expect(await history.list('blog')).toEqual([expect.objectContaining({ id: other.record.id, status: 'failed' })]);
    expect(await history.apps()).toEqual(['blog', 'shop']);
  });

  it('keeps as many deploys as it is told, and always the one the app runs, with their files', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir, 2);
    const image = (commit: string) => [
      { service: 'web', reference: `r/shop-web:${commit}`, digest: `sha256:${commit}` },
    ];
    const finish = async (commit: string, status: 'succeeded' | 'failed') => {
      const deploy = await history.start('shop', { commit, branch: 'master' });
      deploy.log(`deploy ${commit}`);
      await deploy.finish({ status, images: image(commit), resolvedCompose: `image: r/shop-web:${commit}\n` });
      return { id: deploy.record.id, dropped: await history.prune('shop') };
    };
    const good = await finish('a', 'succeeded');
    expect((await finish('b', 'failed')).dropped).toEqual([]);
    expect((await finish('c', 'failed')).dropped).toEqual([]);
    const fourth = await finish('d', 'failed');
    expect(fourth.dropped).toEqual([expect.objectContaining({ commit: 'b', images: image('b') })]);
    expect((await history.list('shop')).map((record) => record.commit)).toEqual(['d', 'c', 'a']);
    expect(readdirSync(join(dir, 'shop'))).toContain(good.id);
    const fifth = await finish('e', 'succeeded');
    expect(fifth.dropped.map((record) => record.commit)).toEqual(['a', 'c']);
    expect(readdirSync(join(dir, 'shop')).sort()).toEqual([fourth.id, fifth.id].sort());
    expect(() => new DeployHistory(dir, 0)).toThrow(RangeError);
  });

  it('removes its temporary file when a record cannot be written on a full disk, and says so', async () => {
    const dir = historyDir();
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=16k', `swarmlet-history-test-${process.pid}`, dir]);
    try {
      const history = new DeployHistory(dir);
      const deploy = await history.start('shop', { commit: 'c', branch: 'master' });
      await execa('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=4096'], { reject: false });
      deploy.log('a line that finds no room');
      await expect(deploy.finish({ status: 'succeeded' })).rejects.toThrow(
        /^the record of deploy .* of shop could not be written: ENOSPC.*\(nor its log: ENOSPC/,
      );
      expect(readdirSync(join(dir, 'shop', deploy.record.id)).sort()).toEqual(['log', 'record.json']);
      expect(await history.get('shop', deploy.record.id)).toMatchObject({ status: 'running' });
    } finally {
      await execa('umount', [dir]);
    }
  });

  it('answers an app without deploys, and an empty history, with nothing', async () => {
    const history = new DeployHistory(join(historyDir(), 'not-created-yet'));
    expect(await history.apps()).toEqual([]);
    expect(await history.list('shop')).toEqual([]);
    expect(await history.get('shop', '20250101T000000000Z-abcdef')).toBeUndefined();
    expect(await history.log('shop', '20250101T000000000Z-abcdef')).toBeUndefined();
  });

  it('replaces record.json whole, leaving no temporary file behind', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir);
    const deploy = await history.start('shop', { commit: 'c', branch: 'master' });
    await deploy.finish({ status: 'failed', error: 'converge: service shop_web failed' });
    const files = readdirSync(join(dir, 'shop', deploy.record.id));
    expect(files.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'shop', deploy.record.id, 'record.json'), 'utf8'))).toMatchObject({
      status: 'failed',
      error: 'converge: service shop_web failed',
    });
  });

  it('skips a record it cannot read and anything in its directories that is not a deploy or an app', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir);
    const good = await history.start('shop', { commit: 'good', branch: 'master' });
    await good.finish({ status: 'succeeded' });
    const broken = await history.start('shop', { commit: 'broken', branch: 'master' });
    await broken.finish({ status: 'succeeded' });
    writeFileSync(join(dir, 'shop', broken.record.id, 'record.json'), '{ half a record');
    mkdirSync(join(dir, 'shop', 'not-a-deploy'));
    mkdirSync(join(dir, 'Not_An_App'));
    mkdirSync(join(dir, '.trash'));
    writeFileSync(join(dir, 'stray-file'), '');
    expect((await history.list('shop')).map((record) => record.commit)).toEqual(['good']);
    expect(await history.apps()).toEqual(['shop']);
  });

  it('refuses app names and ids that could reach outside its directory, before touching the disk', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir);
    for (const app of ['../escape', 'a/b', '..', '.hidden', 'Shop', '', 'a'.repeat(64), 'shop..x', 'a\0b']) {
      await expect(history.start(app, { commit: 'c', branch: 'main' })).rejects.toThrow('invalid app name');
      await expect(history.list(app)).rejects.toThrow('invalid app name');
      await expect(history.get(app, '20250101T000000000Z-abcdef')).rejects.toThrow('invalid app name');
    }
    expect(readdirSync(dir)).toEqual([]);
    for (const id of ['../../etc', '..', 'record.json', '20250101T000000000Z-abcdef/../x']) {
      expect(await history.get('shop', id)).toBeUndefined();
      expect(await history.log('shop', id)).toBeUndefined();
    }
    expect(existsSync(join(dir, 'shop'))).toBe(false);
  });

  it('keeps where a running deploy is in its record, and the outcome keeps it', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir);
    const deploy = await history.start('shop', { commit: 'c', branch: 'master' });
    await deploy.progress({ step: 'build' });
    expect(await history.get('shop', deploy.record.id)).toMatchObject({ status: 'running', step: 'build' });
    await deploy.progress({ step: 'deploy', stackDeployedAt: '2026-11-30T23:00:00.000Z' });
    await deploy.progress({ step: 'converge' });
    expect(await history.get('shop', deploy.record.id)).toMatchObject({
      status: 'running',
      step: 'converge',
      stackDeployedAt: '2026-11-30T23:00:00.000Z',
    });
    const finished = await deploy.finish({ status: 'timed-out', error: 'converge: stopped after 5 min' });
    expect(finished).toMatchObject({
      status: 'timed-out',
      step: 'converge',
      stackDeployedAt: expect.any(String) as unknown,
    });
  });

  it('closes the running records a dead agent left as interrupted, saying when, where and what may run', async () => {
    const dir = historyDir();
    const history = new DeployHistory(dir);
    const building = await history.start('shop', { commit: 'b', branch: 'master' });
    await building.progress({ step: 'build' });
    const converging = await history.start('blog', { commit: 'c', branch: 'main' });
    await converging.progress({ step: 'deploy', stackDeployedAt: '2026-11-30T22:00:00.000Z' });
    await converging.progress({ step: 'converge' });
    const done = await history.start('blog', { commit: 'd', branch: 'main' });
    await done.finish({ status: 'succeeded' });
    const fresh = await history.start('shop', { commit: 'e', branch: 'master' });
    const own = await history.start('docs', { commit: 'f', branch: 'main' });
    const lastSeen = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    for (const deploy of [building, converging, own]) {
      for (const file of ['record.json', 'log']) {
        const path = join(dir, deploy.record.app, deploy.record.id, file);
        if (!existsSync(path)) writeFileSync(path, '');
        utimesSync(path, lastSeen, lastSeen);
      }
    }
    const now = new Date(lastSeen.getTime() + 60_000);
    const freshSeen = new Date(now.getTime() - 5_000);
    utimesSync(join(dir, 'shop', fresh.record.id, 'record.json'), freshSeen, freshSeen);

    const { interrupted, live } = await history.interruptStale(now, 30_000, new Set([own.record.id]));
    expect(interrupted.map((record) => record.id).sort()).toEqual([building.record.id, converging.record.id].sort());
    expect(live).toBe(1);
    expect(await history.get('shop', building.record.id)).toEqual({
      ...building.record,
      status: 'interrupted',
      step: 'build',
      interruptedAt: lastSeen.toISOString(),
      finishedAt: now.toISOString(),
      error:
        'interrupted during build (the agent stopped: killed or crashed): nothing was deployed, the previous version keeps serving',
    });
    expect(await history.get('blog', converging.record.id)).toMatchObject({
      status: 'interrupted',
      step: 'converge',
      error:
        'interrupted during converge after docker stack deploy (the agent stopped: killed or crashed): the swarm may run the new version; `status blog` shows what runs',
    });
    expect(await history.get('blog', done.record.id)).toMatchObject({ status: 'succeeded' });
    expect(await history.get('shop', fresh.record.id)).toMatchObject({ status: 'running' });
    expect(await history.get('docs', own.record.id)).toMatchObject({ status: 'running' });

    await fresh.beat();
    const later = await history.interruptStale(new Date(Date.now() + 1000), 30_000);
    expect(later.interrupted.map((record) => record.id)).toEqual([own.record.id]);
    expect(later.live).toBe(1);
  });

  it('gives strictly increasing ids, so deploys started in the same millisecond keep their order', async () => {
    const history = new DeployHistory(historyDir());
    const started = await Promise.all(
      Array.from({ length: 5 }, (_, index) => history.start('shop', { commit: `c${index}`, branch: 'main' })),
    );
    const ids = started.map((deploy) => deploy.record.id);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids.map((id) => id.slice(0, 19))).size).toBe(5);
    await Promise.all(started.map((deploy) => deploy.finish({ status: 'succeeded' })));
    expect((await history.list('shop')).map((record) => record.commit)).toEqual(['c4', 'c3', 'c2', 'c1', 'c0']);
  });
});
