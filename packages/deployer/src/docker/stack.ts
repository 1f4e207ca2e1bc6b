import { execa } from 'execa';

/** What marks the CLI's advice about `--detach`, which is not for the pusher. */
const CLI_ADVICE = '--detach=false';

/** How to run `docker stack deploy`. */
export interface StackDeployRequest {
  /** The stack's name (the app's name). */
  name: string;
  /** The resolved compose file to deploy. */
  composeFile: string;
  /**
   * A docker CLI configuration directory (`DOCKER_CONFIG`) whose `config.json` holds the registry credentials
   * that `--with-registry-auth` forwards to the nodes; never a password on the command line.
   */
  dockerConfig: string;
  /** `always` (pin each image to its digest, the default) or `never` (images built on the node itself). */
  resolveImage?: 'always' | 'never';
  /** The only environment the docker CLI sees (it needs `PATH`); `DOCKER_CONFIG` is added. */
  env: Record<string, string>;
  /** Stops the CLI: SIGTERM, then SIGKILL 5 s later. Services it already updated stay updated. */
  signal?: AbortSignal;
}

/**
 * Runs `docker stack deploy --with-registry-auth --prune --resolve-image always -c <file> <name>` with an
 * argument array, handing each output line to `onLine` (but the CLI's advice about `--detach`).
 * @throws Error with the CLI's last output lines when it exits non-zero; `request.signal`'s reason when it
 * stopped the CLI.
 */
export async function deployStack(request: StackDeployRequest, onLine: (line: string) => void): Promise<void> {
  const args = [
    'stack',
    'deploy',
    '--with-registry-auth',
    '--prune',
    '--resolve-image',
    request.resolveImage ?? 'always',
    '-c',
    request.composeFile,
    request.name,
  ];
  const child = execa('docker', args, {
    env: { ...request.env, DOCKER_CONFIG: request.dockerConfig },
    extendEnv: false,
    all: true,
    reject: false,
    ...(request.signal && { cancelSignal: request.signal, forceKillAfterDelay: 5000 }),
  });
  const tail: string[] = [];
  child.all.setEncoding('utf8');
  let pending = '';
  child.all.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '' || line.includes(CLI_ADVICE)) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      onLine(line);
    }
  });
  const result = await child;
  request.signal?.throwIfAborted();
  if (pending.trim() !== '') {
    tail.push(pending);
    onLine(pending);
  }
  if (result.exitCode !== 0) {
    throw new Error(
      `docker stack deploy ${request.name} failed (exit ${result.exitCode ?? 'signal'}): ${tail.slice(-5).join(' | ')}`,
    );
  }
}
