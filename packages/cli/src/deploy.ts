import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { ACTOR_HEADER, readDeployEvents, validateAppName } from '@swarmlet/deployer';
import { execa } from 'execa';

/** Where `swarmlet deploy` sends its request. */
export interface DeployTarget {
  /** The agent's base URL, e.g. `http://127.0.0.1:8787`. */
  agentUrl: string;
  /** The file holding the agent's bearer token. */
  tokenFile: string;
}

/**
 * `swarmlet deploy [PATH] [--app NAME]`: asks the agent to deploy the git repository at `path` (default the
 * current directory) at its HEAD, as app `app` (default the directory's name), printing the deploy's log as it
 * streams. Resolves with the exit code: 0 when the deploy succeeded, 1 otherwise.
 * @throws Error when `path` is not a git repository with a commit, or the app name is invalid.
 */
export async function deployLocal(
  path: string,
  app: string | undefined,
  target: DeployTarget,
  write: (line: string) => void,
): Promise<number> {
  const repository = resolve(path);
  const name = validateAppName(app ?? basename(repository).toLowerCase());
  const commit = (await execa('git', ['-C', repository, 'rev-parse', 'HEAD'])).stdout.trim();
  const branch = (await execa('git', ['-C', repository, 'rev-parse', '--abbrev-ref', 'HEAD'])).stdout.trim();
  const token = (await readFile(target.tokenFile, 'utf8')).trim();
  const response = await fetch(`${target.agentUrl}/v1/apps/${name}/deploys`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', [ACTOR_HEADER]: 'server' },
    body: JSON.stringify({ repository, commit, branch, trigger: 'deploy' }),
  });
  if (!response.ok || !response.body) {
    write(`the deployer refused the deploy (${response.status}): ${await response.text()}`);
    return 1;
  }
  write(`deploying ${name} at ${commit.slice(0, 12)} (${branch})`);
  const result = await readDeployEvents(response.body, write);
  if (result.ok) {
    for (const url of result.urls ?? []) write(`${name} is up: ${url}`);
    return 0;
  }
  write(
    result.status === 'superseded'
      ? 'superseded by a newer deploy of this app'
      : `deploy failed: ${result.error ?? 'unknown'}`,
  );
  return 1;
}
