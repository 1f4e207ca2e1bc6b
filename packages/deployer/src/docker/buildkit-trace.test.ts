import { decodeBuildTrace, PlainProgress, type BuildTrace, type TraceVertex } from './buildkit-trace.js';
import { WireFormatError } from './protobuf-wire.js';

/** Base64 `moby.buildkit.trace` messages as Docker Engine 20.10 streamed them for a build whose RUN fails. */
const RECORDED = [
  'Cm8KR3NoYTI1NjowNzNkYzE5ZGFkNzIyMWEwN2ZmNWViY2UxZTQ5YmY4MDVlYTNkN2ZhZTQ3OGJmNWVjZTJlOWYzZmU1OGE0NDJjGiRbaW50ZXJuYWxdIGxvYWQgcmVtb3RlIGJ1aWxkIGNvbnRleHQ=',
  'CnwKR3NoYTI1NjowNzNkYzE5ZGFkNzIyMWEwN2ZmNWViY2UxZTQ5YmY4MDVlYTNkN2ZhZTQ3OGJmNWVjZTJlOWYzZmU1OGE0NDJjGiRbaW50ZXJuYWxdIGxvYWQgcmVtb3RlIGJ1aWxkIGNvbnRleHQqCwi4sbfYBhDfod1g',
  'CokBCkdzaGEyNTY6MDczZGMxOWRhZDcyMjFhMDdmZjVlYmNlMWU0OWJmODA1ZWEzZDdmYWU0NzhiZjVlY2UyZTlmM2ZlNThhNDQyYxokW2ludGVybmFsXSBsb2FkIHJlbW90ZSBidWlsZCBjb250ZXh0KgsIuLG32AYQ36HdYDILCLixt9gGEMiE020=',
  'CokBCkdzaGEyNTY6MDczZGMxOWRhZDcyMjFhMDdmZjVlYmNlMWU0OWJmODA1ZWEzZDdmYWU0NzhiZjVlY2UyZTlmM2ZlNThhNDQyYxokW2ludGVybmFsXSBsb2FkIHJlbW90ZSBidWlsZCBjb250ZXh0KgsIuLG32AYQk4LjbTILCLixt9gGEKSP5G0=',
  'CqMBCkdzaGEyNTY6YjVmZjA1MjI5ODExOWVlZTVmNGU5YzBjMmIwYzcwMTRmYTQ5YjIwNGQyNmYzMWM3ZDQ3MDlhOTE1Y2U0NDYzYxJHc2hhMjU2OjA3M2RjMTlkYWQ3MjIxYTA3ZmY1ZWJjZTFlNDliZjgwNWVhM2Q3ZmFlNDc4YmY1ZWNlMmU5ZjNmZTU4YTQ0MmMaD2NvcHkgL2NvbnRleHQgLw==',
  'CrABCkdzaGEyNTY6YjVmZjA1MjI5ODExOWVlZTVmNGU5YzBjMmIwYzcwMTRmYTQ5YjIwNGQyNmYzMWM3ZDQ3MDlhOTE1Y2U0NDYzYxJHc2hhMjU2OjA3M2RjMTlkYWQ3MjIxYTA3ZmY1ZWJjZTFlNDliZjgwNWVhM2Q3ZmFlNDc4YmY1ZWNlMmU5ZjNmZTU4YTQ0MmMaD2NvcHkgL2NvbnRleHQgLyoLCLixt9gGEK6stXA=',
  'Cr4BCkdzaGEyNTY6YjVmZjA1MjI5ODExOWVlZTVmNGU5YzBjMmIwYzcwMTRmYTQ5YjIwNGQyNmYzMWM3ZDQ3MDlhOTE1Y2U0NDYzYxJHc2hhMjU2OjA3M2RjMTlkYWQ3MjIxYTA3ZmY1ZWJjZTFlNDliZjgwNWVhM2Q3ZmFlNDc4YmY1ZWNlMmU5ZjNmZTU4YTQ0MmMaD2NvcHkgL2NvbnRleHQgLyoLCLixt9gGEK6stXAyDAi4sbfYBhCx1dS9AQ==',
  'Co0BCkdzaGEyNTY6MDhhMDNmM2ZmZTVmYmE0MjFhNjQwM2MzMWUxNTM0MjVjZWQ2MzFkMTA4ODY4ZjMwZTA0OTg1Zjk5ZDY5MzI2ZRokWzEvMl0gRlJPTSBkb2NrZXIuaW8vbGlicmFyeS9idXN5Ym94IAEqDAi4sbfYBhCVkoTXATIMCLixt9gGEP30htcB',
  'CskBCkdzaGEyNTY6OWRkM2JhNmNhNjA0NWFjMjRiODI0YmZiYzhiZTc2MzdiNmUzMDlmMDE4MzlhYjZkODgzMzVlM2Y3MTk3ZTliYxJHc2hhMjU2OjA4YTAzZjNmZmU1ZmJhNDIxYTY0MDNjMzFlMTUzNDI1Y2VkNjMxZDEwODg2OGYzMGUwNDk4NWY5OWQ2OTMyNmUaJ1syLzJdIFJVTiBlY2hvIGNhcHR1cmVkLTIzMTM2ICYmIGV4aXQgMyoMCLixt9gGEO7Fn9oB',
  'GmoKR3NoYTI1Njo5ZGQzYmE2Y2E2MDQ1YWMyNGI4MjRiZmJjOGJlNzYzN2I2ZTMwOWYwMTgzOWFiNmQ4ODMzNWUzZjcxOTdlOWJjEgwIuLG32AYQx7OgxAMYASIPY2FwdHVyZWQtMjMxMzYK',
  'CqkCCkdzaGEyNTY6OWRkM2JhNmNhNjA0NWFjMjRiODI0YmZiYzhiZTc2MzdiNmUzMDlmMDE4MzlhYjZkODgzMzVlM2Y3MTk3ZTliYxJHc2hhMjU2OjA4YTAzZjNmZmU1ZmJhNDIxYTY0MDNjMzFlMTUzNDI1Y2VkNjMxZDEwODg2OGYzMGUwNDk4NWY5OWQ2OTMyNmUaJ1syLzJdIFJVTiBlY2hvIGNhcHR1cmVkLTIzMTM2ICYmIGV4aXQgMyoMCLixt9gGEO7Fn9oBMgwIuLG32AYQs8ShzwM6UGV4ZWN1dG9yIGZhaWxlZCBydW5uaW5nIFsvYmluL3NoIC1jIGVjaG8gY2FwdHVyZWQtMjMxMzYgJiYgZXhpdCAzXTogZXhpdCBjb2RlOiAz',
];

function vertex(digest: string, name: string, extra: Partial<TraceVertex> = {}): BuildTrace {
  return { vertexes: [{ digest, name, cached: false, ...extra }], statuses: [], logs: [] };
}

function log(digest: string, text: string, timestamp?: number): BuildTrace {
  return {
    vertexes: [],
    statuses: [],
    logs: [{ vertex: digest, stream: 1, data: Buffer.from(text), ...(timestamp !== undefined && { timestamp }) }],
  };
}

describe('decodeBuildTrace', () => {
  it('reads the vertexes, their times, cache state, errors and output from the engine messages', () => {
    const traces = RECORDED.map(decodeBuildTrace);
    expect(traces[0]?.vertexes[0]).toMatchObject({ name: '[internal] load remote build context', cached: false });
    expect(traces[0]?.vertexes[0]?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(traces[0]?.vertexes[0]?.started).toBeUndefined();
    expect(traces[7]?.vertexes[0]).toMatchObject({ name: '[1/2] FROM docker.io/library/busybox', cached: true });
    const started = traces[8]?.vertexes[0]?.started ?? 0;
    expect(started).toBeGreaterThan(Date.UTC(2020, 0, 1));
    expect(traces[9]?.logs[0]).toMatchObject({ vertex: traces[8]?.vertexes[0]?.digest, stream: 1 });
    expect(traces[9]?.logs[0]?.data.toString()).toMatch(/^captured-\d+\n$/);
    expect(traces[10]?.vertexes[0]?.error).toMatch(
      /^executor failed running \[\/bin\/sh -c echo captured-\d+ && exit 3\]: exit code: 3$/,
    );
    expect(traces[10]?.vertexes[0]?.completed ?? 0).toBeGreaterThanOrEqual(started);
  });

  it('refuses a message that is not a protobuf', () => {
    expect(() => decodeBuildTrace(Buffer.from([0x0a, 0x20, 0x01]).toString('base64'))).toThrow(WireFormatError);
    expect(() => decodeBuildTrace(Buffer.from([0x0b]).toString('base64'))).toThrow(/wire type 3/);
  });
});

describe('PlainProgress', () => {
  it('prints the recorded failing build as docker build --progress=plain does, with the failed output again', () => {
    const lines: string[] = [];
    const progress = new PlainProgress((line) => lines.push(line));
    for (const aux of RECORDED) progress.write(decodeBuildTrace(aux));
    progress.end(true);
    const text = lines
      .join('\n')
      .replace(/\d+\.\d+s\b/g, 'Ts')
      .replace(/#4 \d+\.\d{3} /g, '#4 T ');
    expect(text).toMatch(
      new RegExp(
        [
          '^#1 \\[internal\\] load remote build context',
          '#1 DONE Ts',
          '#2 copy /context /',
          '#2 DONE Ts',
          '#3 \\[1/2\\] FROM docker.io/library/busybox',
          '#3 CACHED',
          '#4 \\[2/2\\] RUN echo captured-(\\d+) && exit 3',
          '#4 T captured-\\1',
          '#4 ERROR: executor failed running \\[/bin/sh -c echo captured-\\1 && exit 3\\]: exit code: 3',
          '------',
          ' > \\[2/2\\] RUN echo captured-\\1 && exit 3:',
          'captured-\\1',
          '------$',
        ].join('\\n'),
      ),
    );
  });

  it('joins output split across messages, ends a last line without newline, times lines from the start', () => {
    const lines: string[] = [];
    const progress = new PlainProgress((line) => lines.push(line));
    progress.write(vertex('a', '[1/1] RUN make', { started: 1000 }));
    progress.write(log('a', 'comp', 1500));
    progress.write(log('a', 'iling\nlinking', 2250));
    progress.write(vertex('a', '[1/1] RUN make', { started: 1000, completed: 3000 }));
    progress.end(false);
    expect(lines).toEqual(['#1 [1/1] RUN make', '#1 1.250 compiling', '#1 0.000 linking', '#1 DONE 2.0s']);
  });

  it('numbers steps in order of appearance, names finished transfers once, and keeps quiet about failures of a build that succeeded', () => {
    const lines: string[] = [];
    const progress = new PlainProgress((line) => lines.push(line));
    progress.write(vertex('ctx', '[internal] load build context', { started: 0 }));
    progress.write(vertex('cache', 'importing cache manifest from r/x:1', { started: 0 }));
    const transfer = {
      id: 'transferring context',
      vertex: 'ctx',
      name: 'transferring context',
      current: 2048,
      total: 0,
    };
    progress.write({ vertexes: [], statuses: [transfer], logs: [] });
    progress.write({ vertexes: [], statuses: [{ ...transfer, completed: 10 }], logs: [] });
    progress.write({ vertexes: [], statuses: [{ ...transfer, completed: 10 }], logs: [] });
    progress.write(
      vertex('cache', 'importing cache manifest from r/x:1', { started: 0, completed: 5, error: 'not found' }),
    );
    progress.write(vertex('ctx', '[internal] load build context', { started: 0, completed: 20 }));
    progress.end(false);
    expect(lines).toEqual([
      '#1 [internal] load build context',
      '#2 importing cache manifest from r/x:1',
      '#1 transferring context 2.05kB done',
      '#2 ERROR: not found',
      '#1 DONE 0.0s',
    ]);
  });
});
