import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@swarmlet/common';
import { connectEngine, ensureOverlayNetwork, ensureSwarm } from '@swarmlet/deployer';
import { startLocalRouter } from './local-router.js';
import { ensurePlatformUser, type PlatformUser } from './platform-user.js';
import { BUNDLED_STACKS_DIR, CLI_MAIN, ensureToken, packageMain, startPart, superviseParts } from './processes.js';
import type { UpSettings } from './settings.js';

/**
 * Runs the platform from source on this machine: checks the Docker engine and initialises a swarm when none is
 * active, then starts the registry, the deployer agent (as `swarmlet agent`, with the keys door) and the git
 * receiver as child processes of this one, wired
 * together (the agent's token is made once and kept in the data directory, which is closed to other users; the
 * receiver seeds the core repositories from the repository's `stacks/`). Makes the Traefik network and runs the
 * local router when its image can be had (see `local-router.ts`). Makes the platform user the dashboard signs in
 * with (see `ensurePlatformUser`) and prints the dashboard's URL, the user and the password's file. Resolves with the exit code as
 * {@link superviseParts} does.
 */
export async function up(settings: UpSettings, log: Logger): Promise<number> {
  const docker = connectEngine();
  if (await ensureSwarm(docker)) log.info('initialised a single-node swarm on this engine');
  await mkdir(settings.dataDir, { recursive: true, mode: 0o700 });
  await chmod(settings.dataDir, 0o700);
  if (await ensureOverlayNetwork(docker, settings.traefikNetwork)) {
    log.info({ network: settings.traefikNetwork }, 'created the network the router reaches apps through');
  }
  const router = await startLocalRouter(
    docker,
    {
      wanted: settings.router,
      image: settings.traefikImage,
      httpPort: settings.httpPort,
      traefikNetwork: settings.traefikNetwork,
      dataDir: settings.dataDir,
      path: settings.path,
    },
    log,
  );
  const tokenFile = await ensureToken(join(settings.dataDir, 'agent-token'));
  const user = await ensurePlatformUser(settings.dataDir, settings.username, settings.passwordFile);
  const agentUrl = `http://127.0.0.1:${settings.agentPort}`;
  const parts = [
    startPart('registry', packageMain('@swarmlet/registry'), ['serve'], {
      REGISTRY_HTTP_ADDR: `127.0.0.1:${settings.registryPort}`,
      REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: join(settings.dataDir, 'registry'),
      REGISTRY_STORAGE_DELETE_ENABLED: 'true',
      REGISTRY_STORAGE_MAINTENANCE_GARBAGECOLLECT_ENABLED: 'true',
      REGISTRY_STORAGE_MAINTENANCE_GARBAGECOLLECT_DELETEUNTAGGED: 'true',
    }),
    startPart('deployer', CLI_MAIN, ['agent'], {
      SWARMLET_AUTHORIZED_KEYS: settings.authorizedKeys,
      SWARMLET_AGENT_ADDR: `127.0.0.1:${settings.agentPort}`,
      SWARMLET_AGENT_TOKEN_FILE: tokenFile,
      SWARMLET_DATA_DIR: join(settings.dataDir, 'deployer'),
      SWARMLET_REPOS_DIR: join(settings.dataDir, 'receiver', 'repos'),
      SWARMLET_REGISTRY: `127.0.0.1:${settings.registryPort}`,
      ROOT_DOMAIN: settings.rootDomain,
      TRAEFIK_NETWORK: settings.traefikNetwork,
      SWARMLET_ROUTER: router.kind,
      SWARMLET_HTTP_PORT: String(settings.httpPort),
      SWARMLET_HTPASSWD_FILE: user.htpasswdFile,
    }),
    startPart('receiver', packageMain('@swarmlet/receiver'), ['serve'], {
      SWARMLET_DATA_DIR: join(settings.dataDir, 'receiver'),
      SWARMLET_SSH_PORT: String(settings.sshPort),
      SWARMLET_AUTHORIZED_KEYS: settings.authorizedKeys,
      SWARMLET_AGENT_URL: agentUrl,
      SWARMLET_AGENT_TOKEN_FILE: tokenFile,
      SWARMLET_STACKS_DIR: BUNDLED_STACKS_DIR,
    }),
  ];
  printNextSteps(settings, router.kind === 'local', user);
  return superviseParts(parts, log);
}

function printNextSteps(settings: UpSettings, routed: boolean, user: PlatformUser): void {
  process.stdout.write(
    [
      '',
      'Swarmlet is running from source:',
      `  registry        http://127.0.0.1:${settings.registryPort}/v2/  (data in ${join(settings.dataDir, 'registry')})`,
      `  deployer agent  http://127.0.0.1:${settings.agentPort}/health`,
      `  dashboard       http://127.0.0.1:${settings.agentPort}/  (user ${user.username}, password in ${user.passwordFile})`,
      `  git receiver    ssh://git@127.0.0.1:${settings.sshPort} (keys from ${settings.authorizedKeys})`,
      `  ROOT_DOMAIN     ${settings.rootDomain}`,
      routed
        ? `  router          http://APP.${settings.rootDomain}:${String(settings.httpPort)}`
        : '  router          none (its image cannot be had here): deploys print their published ports',
      '',
      'Next:',
      '  add to ~/.ssh/config:',
      '    Host swarmlet',
      '      HostName 127.0.0.1',
      `      Port ${settings.sshPort}`,
      '      User git',
      '  in your project: git remote add swarmlet git@swarmlet:my-app && git push swarmlet master',
      '  operate your apps: ssh swarmlet apps (ssh swarmlet help lists the commands; also node packages/cli/dist/main.js apps)',
      '  the core stacks are repositories too: git clone git@swarmlet:registry (also router, deployer)',
      `  the registry: docker push 127.0.0.1:${settings.registryPort}/<image> (no login on this local run)`,
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}
