import { DeployQueue, SUPERSEDED } from './queue.js';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('DeployQueue', () => {
  it('runs one job per app at a time, and a newer request supersedes a waiting one', async () => {
    const queue = new DeployQueue<string>(4);
    const started: string[] = [];
    const first = deferred<string>();
    const job = (name: string, result: Promise<string>) => () => {
      started.push(name);
      return result;
    };
    const one = queue.run('shop', job('one', first.promise));
    const two = queue.run('shop', job('two', Promise.resolve('two done')));
    const three = queue.run('shop', job('three', Promise.resolve('three done')));
    await tick();
    expect(started).toEqual(['one']);
    expect(await two).toBe(SUPERSEDED);
    first.resolve('one done');
    expect(await one).toBe('one done');
    expect(await three).toBe('three done');
    expect(started).toEqual(['one', 'three']);
    expect(queue.busy('shop')).toBe(false);
  });

  it('runs different apps in parallel up to the limit', async () => {
    const queue = new DeployQueue<number>(2);
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    const started: number[] = [];
    const runs = gates.map((gate, index) =>
      queue.run(`app-${index}`, () => {
        started.push(index);
        return gate.promise;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    gates[0]?.resolve(0);
    await runs[0];
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[1]?.resolve(1);
    gates[2]?.resolve(2);
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
  });

  it('answers a failed job with its error and goes on with the next', async () => {
    const queue = new DeployQueue<string>(1);
    const failing = queue.run('shop', () => Promise.reject(new Error('build failed')));
    const after = queue.run('other', () => Promise.resolve('fine'));
    await expect(failing).rejects.toThrow('build failed');
    expect(await after).toBe('fine');
  });
});
