import { PassThrough, Readable } from 'node:stream';
import { DockerStreamError, followProgress, type ProgressMessage } from './progress.js';

function streamOf(...chunks: string[]): Readable {
  return Readable.from(chunks.map((chunk) => Buffer.from(chunk)));
}

describe('followProgress', () => {
  it('yields every message, across chunk boundaries and CRLF delimiters', async () => {
    const seen: ProgressMessage[] = [];
    const messages = await followProgress(
      streamOf('{"stream":"Step 1/2 : FROM busybox\\n"}\r\n{"str', 'eam":"ok"}\r\n', '{"aux":{"ID":"sha256:abc"}}'),
      'build',
      'web',
      (message) => seen.push(message),
    );
    expect(messages).toEqual([
      { stream: 'Step 1/2 : FROM busybox\n' },
      { stream: 'ok' },
      { aux: { ID: 'sha256:abc' } },
    ]);
    expect(seen).toEqual(messages);
  });

  it('turns errorDetail inside the stream into a rejection naming step and subject', async () => {
    const run = followProgress(
      streamOf(
        '{"stream":"Step 2/2 : RUN false\\n"}\n',
        '{"errorDetail":{"code":1,"message":"The command \'/bin/sh -c false\' returned a non-zero code: 1"},"error":"x"}\n',
        '{"stream":"never seen"}\n',
      ),
      'build',
      'web',
    );
    await expect(run).rejects.toThrow(DockerStreamError);
    await expect(run).rejects.toThrow(
      "build of web failed: The command '/bin/sh -c false' returned a non-zero code: 1",
    );
  });

  it('rejects on a line that is not JSON', async () => {
    await expect(followProgress(streamOf('<html>\n'), 'push', '127.0.0.1:5000/app')).rejects.toThrow(
      'push of 127.0.0.1:5000/app failed: unreadable progress line: <html>',
    );
  });

  it('rejects when the stream fails', async () => {
    const stream = new PassThrough();
    const run = followProgress(stream, 'push', 'app');
    stream.destroy(new Error('socket hang up'));
    await expect(run).rejects.toThrow('push of app failed: socket hang up');
  });
});
