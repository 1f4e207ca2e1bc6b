import { DeployQueue, type QueueOutcome } from './queue.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** A job that reports when it starts and finishes when its gate opens. */
class Job<T> {
  readonly started = deferred<undefined>();
  readonly gate = deferred<T>();
  hasStarted = false;

  readonly run = (): Promise<T> => {
    this.hasStarted = true;
    this.started.resolve(undefined);
    return this.gate.promise;
  };
}

/** Lets every pending promise callback run, so a job that could start has started. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const completed = <T>(value: T): QueueOutcome<T> => ({ status: 'completed', value });

describe('DeployQueue', () => {
  it('runs one job per app at a time; a newer request supersedes the waiting one, never the running one', async () => {
    const queue = new DeployQueue<string>(4);
    const [one, two, three] = [new Job<string>(), new Job<string>(), new Job<string>()];
    const first = queue.run('shop', one.run);
    await one.started.promise;
    const second = queue.run('shop', two.run);
    expect(queue.busy('shop')).toBe(true);
    const third = queue.run('shop', three.run);
    expect(await second).toEqual({ status: 'superseded' });
    await settle();
    expect([two.hasStarted, three.hasStarted]).toEqual([false, false]);
    one.gate.resolve('one done');
    expect(await first).toEqual(completed('one done'));
    await three.started.promise;
    expect(two.hasStarted).toBe(false);
    three.gate.resolve('three done');
    expect(await third).toEqual(completed('three done'));
    expect(queue.busy('shop')).toBe(false);
  });

  it('runs different apps in parallel up to the limit, the next one as soon as a slot frees', async () => {
    const queue = new DeployQueue<number>(2);
    const jobs = [new Job<number>(), new Job<number>(), new Job<number>()];
    const runs = jobs.map((job, index) => queue.run(`app-${index}`, job.run));
    await Promise.all([jobs[0]?.started.promise, jobs[1]?.started.promise]);
    await settle();
    expect(jobs.map((job) => job.hasStarted)).toEqual([true, true, false]);
    expect(queue.busy('app-2')).toBe(true);
    jobs[1]?.gate.resolve(1);
    expect(await runs[1]).toEqual(completed(1));
    await jobs[2]?.started.promise;
    jobs[0]?.gate.resolve(0);
    jobs[2]?.gate.resolve(2);
    expect(await Promise.all(runs)).toEqual([completed(0), completed(1), completed(2)]);
  });

  it('starts waiting apps in the order they first asked, even when one of them is superseded', async () => {
    const queue = new DeployQueue<string>(1);
    const blocker = new Job<string>();
    const [a, b, aNewer] = [new Job<string>(), new Job<string>(), new Job<string>()];
    const order: string[] = [];
    const track = (name: string, job: Job<string>) => () => {
      order.push(name);
      return job.run();
    };
    const running = queue.run('blocker', blocker.run);
    const first = queue.run('a', track('a', a));
    const other = queue.run('b', track('b', b));
    const newer = queue.run('a', track('a newer', aNewer));
    expect(await first).toEqual({ status: 'superseded' });
    blocker.gate.resolve('blocker');
    await aNewer.started.promise;
    await settle();
    expect(order).toEqual(['a newer']);
    aNewer.gate.resolve('a newer');
    await b.started.promise;
    b.gate.resolve('b');
    expect(await Promise.all([running, newer, other])).toEqual([
      completed('blocker'),
      completed('a newer'),
      completed('b'),
    ]);
    expect(order).toEqual(['a newer', 'b']);
  });

  it('answers a job that fails with its error, and goes on with the next job of the app and of others', async () => {
    const queue = new DeployQueue<string>(1);
    const failing = new Job<string>();
    const failed = queue.run('shop', failing.run);
    const nextOfApp = queue.run('shop', () => Promise.resolve('after the failure'));
    const otherApp = queue.run('blog', () => Promise.resolve('blog deployed'));
    await failing.started.promise;
    failing.gate.reject(new Error('build failed'));
    await expect(failed).rejects.toThrow('build failed');
    expect(await nextOfApp).toEqual(completed('after the failure'));
    expect(await otherApp).toEqual(completed('blog deployed'));
  });

  it('answers a job that throws before returning a promise, and frees its slot', async () => {
    const queue = new DeployQueue<string>(1);
    const throwing = (): Promise<string> => {
      throw new Error('thrown at once');
    };
    const thrown = queue.run('shop', throwing);
    const next = queue.run('blog', () => Promise.resolve('still runs'));
    await expect(thrown).rejects.toThrow('thrown at once');
    expect(await next).toEqual(completed('still runs'));
    expect(queue.busy('shop')).toBe(false);
  });

  it('answers every one of many callers: the first requests that fit the limit and the last of each app run', async () => {
    const queue = new DeployQueue<number>(3);
    const gates = Array.from({ length: 5 }, () => new Job<number>());
    const calls = Array.from({ length: 30 }, (_, index) => {
      const gate = gates[index % 5];
      return queue.run(`app-${index % 5}`, () => (gate ? gate.run() : Promise.resolve(-1)));
    });
    for (const [index, gate] of gates.entries()) gate.gate.resolve(index);
    const outcomes = await Promise.all(calls);
    const ranFirst = [0, 1, 2];
    const ranLast = [25, 26, 27, 28, 29];
    outcomes.forEach((outcome, index) => {
      const ran = ranFirst.includes(index) || ranLast.includes(index);
      expect(outcome).toEqual(ran ? completed(index % 5) : { status: 'superseded' });
    });
  });

  it('cancel aborts the running job through its signal; its turn and its slot free once it ends', async () => {
    const queue = new DeployQueue<string>(1);
    const reasons: unknown[] = [];
    const honouring = (signal: AbortSignal): Promise<string> =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          reasons.push(signal.reason);
          reject(signal.reason as Error);
        });
      });
    const stopped = queue.run('shop', honouring);
    const otherApp = new Job<string>();
    const waitingForSlot = queue.run('blog', otherApp.run);
    await settle();
    expect(otherApp.hasStarted).toBe(false);
    const reason = new Error('cancelled by the admin');
    const cancel = queue.cancel('shop', reason);
    expect(cancel.dropped).toBe(false);
    await expect(stopped).rejects.toBe(reason);
    await cancel.running;
    expect(reasons).toEqual([reason]);
    expect(queue.busy('shop')).toBe(false);
    await otherApp.started.promise;
    otherApp.gate.resolve('blog deployed');
    expect(await waitingForSlot).toEqual(completed('blog deployed'));
    expect(await queue.run('shop', () => Promise.resolve('next push'))).toEqual(completed('next push'));
  });

  it('cancel drops the waiting request (answered cancelled) and finds nothing to stop on an idle app', async () => {
    const queue = new DeployQueue<string>(2);
    const running = new Job<string>();
    const first = queue.run('shop', running.run);
    await running.started.promise;
    const waiting = new Job<string>();
    const second = queue.run('shop', waiting.run);
    const cancel = queue.cancel('shop', new Error('stop'));
    expect(cancel.dropped).toBe(true);
    expect(await second).toEqual({ status: 'cancelled' });
    running.gate.resolve('ended on its own');
    await cancel.running;
    expect(await first).toEqual(completed('ended on its own'));
    expect(waiting.hasStarted).toBe(false);
    expect(queue.cancel('shop', new Error('stop'))).toEqual({ dropped: false });
    expect(queue.cancel('never-seen', new Error('stop'))).toEqual({ dropped: false });
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses the limit %p', (limit) => {
    expect(() => new DeployQueue(limit)).toThrow(RangeError);
  });
});
