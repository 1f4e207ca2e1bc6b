import { Readable } from 'node:stream';
import { deployEventStream, readDeployEvents, type DeployResult } from './deploy-stream.js';

describe('deploy event streams', () => {
  it('carries log lines and the result from the agent to a client', async () => {
    const stream = deployEventStream(async (onLine) => {
      onLine('Step 1/2 : FROM busybox');
      await new Promise((resolve) => setImmediate(resolve));
      onLine('Successfully built 0123');
      return { ok: true, status: 'succeeded', deployId: 'd1', urls: ['https://app.example.test'] };
    });
    const lines: string[] = [];
    const result = await readDeployEvents(stream, (line) => lines.push(line));
    expect(lines).toEqual(['Step 1/2 : FROM busybox', 'Successfully built 0123']);
    expect(result).toEqual({ ok: true, status: 'succeeded', deployId: 'd1', urls: ['https://app.example.test'] });
  });

  it('turns a run that throws into a failed result', async () => {
    const stream = deployEventStream(() => Promise.reject(new Error('build of web failed: exit 1')));
    expect(await readDeployEvents(stream, () => undefined)).toEqual({
      ok: false,
      status: 'failed',
      error: 'build of web failed: exit 1',
    });
  });

  it('lets the run finish when the client goes away', async () => {
    let finished: (result: DeployResult) => void = () => undefined;
    const done = new Promise<DeployResult>((resolve) => {
      finished = resolve;
    });
    const stream = deployEventStream(async (onLine) => {
      onLine('first');
      await new Promise((resolve) => setImmediate(resolve));
      stream.destroy();
      onLine('after the client left');
      const result: DeployResult = { ok: true, status: 'succeeded' };
      finished(result);
      return result;
    });
    expect(await done).toEqual({ ok: true, status: 'succeeded' });
  });

  it('refuses a stream that ends without a result or carries garbage', async () => {
    await expect(
      readDeployEvents(Readable.from([Buffer.from('{"type":"log","line":"x"}\n')]), () => undefined),
    ).rejects.toThrow('closed the connection before the deploy ended');
    await expect(readDeployEvents(Readable.from([Buffer.from('<html>\n')]), () => undefined)).rejects.toThrow(
      'not a deploy event',
    );
  });
});
