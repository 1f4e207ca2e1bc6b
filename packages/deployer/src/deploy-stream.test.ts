import { Readable } from 'node:stream';
import { openDeployEvents, readDeployEvents, type DeployResult } from './deploy-stream.js';

describe('deploy event streams', () => {
  it('carries log lines and the result from the agent to a client', async () => {
    const stream = await openDeployEvents(async (onLine) => {
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

  it('rejects with the error of a run that throws before any line, so it can be answered 4xx', async () => {
    await expect(openDeployEvents(() => Promise.reject(new Error('unknown service x')))).rejects.toThrow(
      'unknown service x',
    );
  });

  it('turns a run that throws after its first line into a failed result', async () => {
    const stream = await openDeployEvents(async (onLine) => {
      onLine('building');
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('build of web failed: exit 1');
    });
    const lines: string[] = [];
    expect(await readDeployEvents(stream, (line) => lines.push(line))).toEqual({
      ok: false,
      status: 'failed',
      error: 'build of web failed: exit 1',
    });
    expect(lines).toEqual(['building']);
  });

  it('lets the run finish when the client goes away', async () => {
    let finished: (result: DeployResult) => void = () => undefined;
    const done = new Promise<DeployResult>((resolve) => {
      finished = resolve;
    });
    const stream = await openDeployEvents(async (onLine) => {
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
