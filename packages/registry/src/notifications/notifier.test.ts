import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@swarmlet/common';
import { captureJsonLines } from '../../../../test/support/capture.js';
import { freePort, waitFor } from '../../../../test/support/docker.js';
import { loadRegistryConfig } from '../config.js';
import { startRegistry, type RunningRegistry } from '../server.js';
import { EVENTS_MEDIA_TYPE } from './endpoint-queue.js';
import type { RegistryEvent } from './events.js';
import { NOTIFICATION_QUEUES_DIR } from './notifier.js';

interface Delivery {
  headers: IncomingHttpHeaders;
  events: RegistryEvent[];
}

/** A real HTTP endpoint on 127.0.0.1 that records what it is sent. */
async function startEndpoint(port = 0): Promise<{ server: Server; url: string; deliveries: Delivery[] }> {
  const deliveries: Delivery[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: RegistryEvent[] };
      deliveries.push({ headers: request.headers, events: body.events });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/events`, deliveries };
}

/** One request on a connection of its own, so no kept-alive socket outlives a registry the test stops. */
function send(method: string, url: string, body: string, contentType: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, agent: false, headers: { 'Content-Type': contentType } }, (response) => {
      response.resume();
      response.on('end', () => {
        resolve(response.statusCode ?? 0);
      });
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

const digestOf = (content: string | Buffer) => `sha256:${createHash('sha256').update(content).digest('hex')}`;

async function pushImage(base: string, name: string, tag: string): Promise<string> {
  const config = JSON.stringify({ architecture: 'amd64', os: 'linux', tag });
  const layer = `layer of ${tag}`;
  for (const content of [config, layer]) {
    const status = await send(
      'POST',
      `${base}/v2/${name}/blobs/uploads/?digest=${digestOf(content)}`,
      content,
      'application/octet-stream',
    );
    expect(status).toBe(201);
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digestOf(layer), size: layer.length }],
  });
  const put = await send(
    'PUT',
    `${base}/v2/${name}/manifests/${tag}`,
    manifest,
    'application/vnd.oci.image.manifest.v1+json',
  );
  expect(put).toBe(201);
  return digestOf(manifest);
}

function registryConfig(root: string, port: number, endpoints: Record<string, unknown>[]) {
  return loadRegistryConfig(
    {
      storage: { filesystem: { rootdirectory: root }, maintenance: { uploadpurging: { enabled: false } } },
      http: { addr: `127.0.0.1:${String(port)}` },
      notifications: { endpoints },
    },
    {},
  );
}

describe('push notifications', () => {
  const started: { close(): Promise<void> }[] = [];
  const servers: Server[] = [];
  const log = captureJsonLines();
  const logger = createLogger({ name: 'registry', level: 'debug', destination: log.stream });

  const start = async (config: ReturnType<typeof registryConfig>): Promise<RunningRegistry> => {
    const registry = await startRegistry(config, logger);
    started.push(registry);
    return registry;
  };

  afterAll(async () => {
    for (const registry of started) await registry.close().catch(() => undefined);
    for (const server of servers) server.close();
  });

  const listeningEndpoint = async () => {
    const endpoint = await startEndpoint();
    servers.push(endpoint.server);
    return { endpoint, port: await freePort(), root: mkdtempSync(join(tmpdir(), 'swarmlet-notify-')) };
  };

  it('sends one push event per manifest push, with repository, tag and digest, in the CNCF envelope', async () => {
    const { endpoint, port, root } = await listeningEndpoint();
    await start(
      registryConfig(root, port, [
        { name: 'ci', url: endpoint.url, headers: { Authorization: ['Bearer s3cret-hook-token'] }, timeout: '2s' },
      ]),
    );
    const digest = await pushImage(`http://127.0.0.1:${String(port)}`, 'team/app', 'v1');
    const pushes = await waitFor('the manifest push event', () => {
      const found = endpoint.deliveries.flatMap((delivery) =>
        delivery.events.filter((event) => event.target.mediaType !== 'application/octet-stream'),
      );
      return Promise.resolve(found.length > 0 ? found : undefined);
    });
    expect(pushes).toHaveLength(1);
    expect(pushes[0]).toMatchObject({
      action: 'push',
      target: {
        repository: 'team/app',
        tag: 'v1',
        digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        url: `http://127.0.0.1:${String(port)}/v2/team/app/manifests/${digest}`,
      },
      request: { method: 'PUT', host: `127.0.0.1:${String(port)}` },
    });
    await waitFor('the two blob push events', () =>
      Promise.resolve(endpoint.deliveries.length === 3 ? true : undefined),
    );
    const blobEvents = endpoint.deliveries.flatMap((delivery) => delivery.events).slice(0, 2);
    expect(blobEvents.map((event) => [event.action, event.target.mediaType])).toEqual([
      ['push', 'application/octet-stream'],
      ['push', 'application/octet-stream'],
    ]);
    expect(endpoint.deliveries[0]?.headers['content-type']).toBe(EVENTS_MEDIA_TYPE);
    expect(endpoint.deliveries[0]?.headers.authorization).toBe('Bearer s3cret-hook-token');
    await fetch(`http://127.0.0.1:${String(port)}/v2/team/app/manifests/v1`);
    const pull = await waitFor('the pull event', () =>
      Promise.resolve(
        endpoint.deliveries.flatMap((delivery) => delivery.events).find((event) => event.action === 'pull'),
      ),
    );
    expect(pull.target).toMatchObject({ repository: 'team/app', digest, tag: 'v1' });
    expect(log.text()).not.toContain('s3cret-hook-token');
  });

  it('delivers every event, in order, to an endpoint that was down, also across a registry restart', async () => {
    const endpointPort = await freePort();
    const port = await freePort();
    const root = mkdtempSync(join(tmpdir(), 'swarmlet-notify-'));
    const config = registryConfig(root, port, [
      {
        name: 'deployer',
        url: `http://127.0.0.1:${String(endpointPort)}/hook`,
        threshold: 2,
        backoff: '200ms',
        ignore: { mediatypes: ['application/octet-stream'] },
      },
    ]);
    const first = await start(config);
    const digests = [
      await pushImage(`http://127.0.0.1:${String(port)}`, 'shop', 'v1'),
      await pushImage(`http://127.0.0.1:${String(port)}`, 'shop', 'v2'),
    ];
    await waitFor('a failed delivery to be logged', () =>
      Promise.resolve(log.text().includes('notification endpoint unreachable') ? true : undefined),
    );
    await first.close();
    expect(
      readdirSync(join(root, NOTIFICATION_QUEUES_DIR, 'deployer')).filter((name) => name.endsWith('.json')),
    ).toHaveLength(2);

    const second = await start(config);
    digests.push(await pushImage(`http://127.0.0.1:${String(port)}`, 'shop', 'v3'));
    const endpoint = await startEndpoint(endpointPort);
    servers.push(endpoint.server);
    const events = await waitFor('every event after the endpoint came back', () => {
      const all = endpoint.deliveries.flatMap((delivery) => delivery.events);
      return Promise.resolve(all.length >= 3 ? all : undefined);
    });
    expect(events.map((event) => [event.action, event.target.tag, event.target.digest])).toEqual([
      ['push', 'v1', digests[0]],
      ['push', 'v2', digests[1]],
      ['push', 'v3', digests[2]],
    ]);
    await waitFor('the queue to be empty', () =>
      Promise.resolve(
        readdirSync(join(root, NOTIFICATION_QUEUES_DIR, 'deployer')).filter((name) => name.endsWith('.json')).length ===
          0
          ? true
          : undefined,
      ),
    );
    await second.close();
  });

  it('leaves out the actions and media types an endpoint ignores', async () => {
    const { endpoint, port, root } = await listeningEndpoint();
    await start(
      registryConfig(root, port, [
        {
          name: 'pushes',
          url: endpoint.url,
          ignoredmediatypes: ['application/octet-stream'],
          ignore: { actions: ['pull'] },
        },
        { name: 'off', url: endpoint.url.replace('/events', '/never'), disabled: true },
      ]),
    );
    const base = `http://127.0.0.1:${String(port)}`;
    const digest = await pushImage(base, 'quiet', 'v1');
    await fetch(`${base}/v2/quiet/manifests/v1`);
    await fetch(`${base}/v2/quiet/manifests/v1`);
    await pushImage(base, 'quiet', 'v2');
    const events = await waitFor('the second push', () => {
      const all = endpoint.deliveries.flatMap((delivery) => delivery.events);
      return Promise.resolve(all.some((event) => event.target.tag === 'v2') ? all : undefined);
    });
    expect(events.map((event) => [event.action, event.target.tag])).toEqual([
      ['push', 'v1'],
      ['push', 'v2'],
    ]);
    expect(events[0]?.target.digest).toBe(digest);
    expect(readdirSync(join(root, NOTIFICATION_QUEUES_DIR))).toEqual(['pushes']);
  });

  it('refuses an endpoint whose name cannot be a queue folder, naming the setting', () => {
    expect(() => registryConfig('/tmp/x', 5000, [{ name: '../escape', url: 'http://127.0.0.1:1/' }])).toThrow(
      /notifications\.endpoints\.0\.name/,
    );
    expect(() =>
      registryConfig('/tmp/x', 5000, [
        { name: 'a', url: 'http://127.0.0.1:1/' },
        { name: 'a', url: 'http://127.0.0.1:2/' },
      ]),
    ).toThrow(/used twice/);
  });
});
