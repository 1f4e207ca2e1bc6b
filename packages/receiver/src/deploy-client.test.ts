import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpDeployClient, type DeployRequest } from './deploy-client.js';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

async function agent(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      handler(request, Buffer.concat(chunks).toString('utf8'), response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const request: DeployRequest = {
  app: 'my-app',
  repoPath: '/data/repos/my-app.git',
  commit: 'a'.repeat(40),
  branch: 'master',
  objectDirectories: ['/data/repos/my-app.git/objects/incoming-x'],
};

describe('HttpDeployClient', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  it('posts the deploy and streams the log lines until the result', async () => {
    let seen: { method?: string; url?: string; auth?: string; type?: string; body?: unknown } = {};
    const { url, server } = await agent((incoming, body, response) => {
      seen = {
        method: incoming.method,
        url: incoming.url,
        auth: incoming.headers.authorization,
        type: incoming.headers['content-type'],
        body: JSON.parse(body),
      };
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write('{"type":"log","line":"Step 1/2 : FROM busybox"}\n{"type":"log","li');
      setTimeout(() => {
        response.write('ne":"built"}\n{"type":"progress","pct":50}\nplain text line\n\n');
        response.end('{"type":"result","ok":true,"url":"http://my-app.localhost"}\n');
      }, 20);
    });
    servers.push(server);
    const lines: string[] = [];
    const result = await new HttpDeployClient({ url: `${url}/`, token: 't0ken' }).deploy(request, (line) =>
      lines.push(line),
    );
    expect(result).toEqual({ ok: true, url: 'http://my-app.localhost' });
    expect(lines).toEqual(['Step 1/2 : FROM busybox', 'built', 'plain text line']);
    expect(seen).toEqual({
      method: 'POST',
      url: '/v1/apps/my-app/deploys',
      auth: 'Bearer t0ken',
      type: 'application/json',
      body: {
        repository: '/data/repos/my-app.git',
        commit: 'a'.repeat(40),
        branch: 'master',
        objectDirectories: ['/data/repos/my-app.git/objects/incoming-x'],
      },
    });
  });

  it('reports a failed, superseded or multi-address deploy, a refusal, a cut answer and an unreachable agent', async () => {
    const { url, server } = await agent((incoming, _body, response) => {
      if (!incoming.url?.startsWith('/prefix/v1/apps/')) {
        response.writeHead(404);
        response.end();
        return;
      }
      if (incoming.headers.authorization !== 'Bearer right') {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end('{"error":"bad token"}');
        return;
      }
      response.writeHead(200);
      if (incoming.url.includes('/cut/')) response.end('{"type":"log","line":"half"}\n');
      else if (incoming.url.includes('/many/')) {
        response.end(
          '{"type":"result","ok":true,"status":"succeeded","urls":["https://a.example","https://b.example"]}\n',
        );
      } else if (incoming.url.includes('/old/')) response.end('{"type":"result","ok":false,"status":"superseded"}\n');
      else response.end('{"type":"log","line":"boom"}\n{"type":"result","ok":false,"error":"build failed"}\n');
    });
    servers.push(server);
    const lines: string[] = [];
    const onLine = (line: string): void => {
      lines.push(line);
    };
    const base = `${url}/prefix`;
    expect(await new HttpDeployClient({ url: base, token: 'right' }).deploy(request, onLine)).toEqual({
      ok: false,
      error: 'build failed',
    });
    expect(await new HttpDeployClient({ url: base, token: 'wrong' }).deploy(request, onLine)).toEqual({
      ok: false,
      error: 'the deployer agent refused the deploy (HTTP 401): bad token',
    });
    expect(
      await new HttpDeployClient({ url: base, token: 'right' }).deploy({ ...request, app: 'cut' }, onLine),
    ).toEqual({
      ok: false,
      error: 'the deployer agent ended its answer without a result',
    });
    expect(lines).toEqual(['boom', 'half']);
    expect(
      await new HttpDeployClient({ url: base, token: 'right' }).deploy({ ...request, app: 'many' }, onLine),
    ).toEqual({
      ok: true,
      url: 'https://a.example',
      urls: ['https://a.example', 'https://b.example'],
    });
    expect(
      await new HttpDeployClient({ url: base, token: 'right' }).deploy({ ...request, app: 'old' }, onLine),
    ).toEqual({
      ok: false,
      error: 'a newer push to the app took its place',
    });

    const closed = await agent(() => undefined);
    await new Promise((resolve) => closed.server.close(resolve));
    const unreachable = await new HttpDeployClient({ url: closed.url }).deploy(request, onLine);
    expect(unreachable.ok).toBe(false);
    expect(unreachable.error).toMatch(/^cannot reach the deployer agent at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });
});
