import { randomUUID } from 'node:crypto';
import { createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { engineRequest } from './engine-request.js';
import type { RegistryAuth } from './images.js';
import { bytesField, readFields, varintField } from './protobuf-wire.js';

const HEALTH = '/grpc.health.v1.Health/Check';
const GET_SECRET = '/moby.buildkit.secrets.v1.Secrets/GetSecret';
const CREDENTIALS = '/moby.filesync.v1.Auth/Credentials';

/** gRPC status codes the session answers with. */
const GRPC_OK = 0;
const GRPC_NOT_FOUND = 5;
const GRPC_UNIMPLEMENTED = 12;

/** What a build session serves to the engine's BuildKit. */
export interface BuildSessionOptions {
  /** Build secrets, id → value: served to `RUN --mount=type=secret,id=…` and held only in this process's memory. */
  secrets: Record<string, string>;
  /** Credentials served for this registry's host only (base images, `cache_from`). */
  registryAuth?: RegistryAuth;
  /** Called with the id of each secret a build asks for that `secrets` does not hold. */
  onMissingSecret?: (id: string) => void;
  /** Called with the id of each secret served, before its value is sent. */
  onSecretServed?: (id: string) => void;
}

/** An open BuildKit session: pass `id` as the build's `session` parameter, `close` it when the build ends. */
export interface BuildSession {
  id: string;
  close(): void;
}

/**
 * Opens a BuildKit session with the engine (`POST /session`, upgraded to HTTP/2) and serves on it, as a gRPC
 * server, the secrets store (`moby.buildkit.secrets.v1.Secrets/GetSecret`), the registry credentials
 * (`moby.filesync.v1.Auth/Credentials`, only when `registryAuth` is given) and the health check the engine
 * polls. Secret values travel only over the engine's socket: never a file, an argument or an environment
 * variable. An unknown secret id is answered NOT_FOUND and reported to `onMissingSecret`.
 * @throws the engine's error when it refuses the session (an engine without BuildKit sessions, API < 1.39).
 */
export async function openBuildSession(docker: Docker, options: BuildSessionOptions): Promise<BuildSession> {
  const id = randomUUID();
  const methods = [HEALTH, GET_SECRET, ...(options.registryAuth ? [CREDENTIALS] : [])];
  const socket = (await engineRequest(docker, {
    path: '/session',
    method: 'POST',
    hijack: true,
    headers: {
      Upgrade: 'h2c',
      'X-Docker-Expose-Session-Uuid': id,
      'X-Docker-Expose-Session-Name': 'swarmlet',
      'X-Docker-Expose-Session-Sharedkey': '',
      'X-Docker-Expose-Session-Grpc-Method': methods,
    },
    statusCodes: { 101: true, 200: true, 400: 'bad request', 500: 'server error' },
  })) as Duplex;
  const server: Http2Server = createServer();
  server.on('stream', (stream, headers) => {
    const path = headers[':path'] ?? '';
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      answer(stream, path, unframe(Buffer.concat(chunks)), options);
    });
    stream.on('error', () => undefined);
  });
  server.on('sessionError', () => undefined);
  socket.on('error', () => undefined);
  server.emit('connection', socket);
  let closed = false;
  return {
    id,
    close: () => {
      if (closed) return;
      closed = true;
      socket.destroy();
      server.close();
    },
  };
}

function answer(stream: ServerHttp2Stream, path: string, request: Buffer, options: BuildSessionOptions): void {
  if (path === HEALTH) {
    reply(stream, varintField(1, 1));
  } else if (path === GET_SECRET) {
    const id = stringField(request, 1);
    const value = Object.hasOwn(options.secrets, id) ? options.secrets[id] : undefined;
    if (value === undefined) {
      options.onMissingSecret?.(id);
      fail(stream, GRPC_NOT_FOUND, `secret ${id} not found`);
    } else {
      options.onSecretServed?.(id);
      reply(stream, bytesField(1, value));
    }
  } else if (path === CREDENTIALS && options.registryAuth) {
    const host = stringField(request, 1);
    const auth = options.registryAuth;
    reply(
      stream,
      host === auth.serveraddress
        ? Buffer.concat([bytesField(1, auth.username), bytesField(2, auth.password)])
        : Buffer.alloc(0),
    );
  } else {
    fail(stream, GRPC_UNIMPLEMENTED, `${path} is not served`);
  }
}

function reply(stream: ServerHttp2Stream, message: Buffer): void {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => {
    stream.sendTrailers({ 'grpc-status': String(GRPC_OK) });
  });
  stream.end(Buffer.concat([prefix, message]));
}

function fail(stream: ServerHttp2Stream, code: number, message: string): void {
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': encodeURIComponent(message),
    },
    { endStream: true },
  );
}

/** The first gRPC message of a request body (1-byte compression flag, 4-byte length, message). */
function unframe(body: Buffer): Buffer {
  if (body.length < 5) return Buffer.alloc(0);
  return body.subarray(5, 5 + body.readUInt32BE(1));
}

function stringField(message: Buffer, field: number): string {
  try {
    const found = readFields(message).find((entry) => entry.field === field && entry.type === 'bytes');
    return found?.type === 'bytes' ? found.value.toString('utf8') : '';
  } catch {
    return '';
  }
}
