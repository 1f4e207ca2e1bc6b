import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_APPS, isTrusted } from '../app-settings.js';
import { loadCompose } from './load.js';
import { checkComposePolicy, platformHosts, routingClaims, type RoutedService, type RoutingClaims } from './policy.js';

const APP = 'shop';
const TAIL = 'is not allowed for an untrusted app (an admin can run `apps trust shop`)';
const stacks = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../stacks');

/** A checkout holding `files`, with `links` as symbolic links (name → target). */
function checkout(files: Record<string, string>, links: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarmlet-policy-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(dir, name));
  return dir;
}

const others: RoutedService[] = [
  {
    owner: 'registry',
    service: 'registry',
    labels: { 'traefik.http.routers.registry.rule': 'Host(`registry.example.test`)' },
  },
  {
    owner: 'blog',
    service: 'web',
    labels: {
      'traefik.http.routers.blog.rule': 'Host(`blog.example.test`) || Host(`www.blog.example.test`)',
      'traefik.http.middlewares.blog-auth.basicauth.users': 'x',
    },
  },
  { owner: APP, service: 'web', labels: { 'traefik.http.routers.shop.rule': 'Host(`shop.example.test`)' } },
];
const claims: RoutingClaims = routingClaims(others, 'example.test', CORE_APPS);

/** The policy's findings for a compose file (and other files) in a fresh checkout. */
async function violations(
  compose: string,
  files: Record<string, string> = {},
  links: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<string[]> {
  const tree = checkout({ 'docker-compose.yml': compose, ...files }, links);
  const loaded = await loadCompose(tree, env);
  return checkComposePolicy(loaded.compose, { app: APP, tree, file: loaded.file, claims });
}

const web = (body: string, topLevel = ''): string =>
  `services:\n  web:\n    image: busybox\n${body
    .split('\n')
    .map((line) => (line ? `    ${line}` : line))
    .join('\n')}\n${topLevel}`;

describe('checkComposePolicy: what an untrusted app keeps to', () => {
  it('accepts a compose file that stays inside its checkout and routes its own hosts', async () => {
    const found = await violations(
      web(
        [
          'volumes:',
          '  - data:/data',
          '  - ./static:/www:ro',
          '  - type: bind',
          '    source: ./conf',
          '    target: /conf',
          '  - type: tmpfs',
          '    target: /tmp',
          '  - /anonymous',
          'env_file: ./web.env',
          'secrets: [token]',
          'network_mode: service:other',
          'security_opt: [no-new-privileges:true]',
          'deploy:',
          '  labels:',
          '    traefik.enable: "true"',
          '    traefik.http.routers.shop.rule: Host(`shop.example.test`) || Host(`new.example.test`)',
          '    traefik.http.routers.shop-api.rule: (Host(`api.example.test`) && PathPrefix(`/v1`))',
          '    traefik.http.services.shop.loadbalancer.server.port: "8080"',
        ].join('\n'),
        'volumes:\n  data: {}\n  named:\n    name: shop_named\nsecrets:\n  token:\n    file: ./token.txt\n' +
          'networks:\n  public:\n    external: true\n    name: traefik-public\n',
      ),
      { 'web.env': 'A=1\n', 'token.txt': 'x', 'static/index.html': '', 'conf/.keep': '' },
      { inside: 'static' },
    );
    expect(found).toEqual([]);
  });

  it('refuses a bind mount of the Docker socket, naming the file, service and field', async () => {
    expect(await violations(web('volumes:\n  - /var/run/docker.sock:/var/run/docker.sock'))).toEqual([
      `docker-compose.yml: service web: volumes[0]: bind mount of /var/run/docker.sock (the Docker socket) ${TAIL}`,
    ]);
  });

  it('refuses binds of host paths outside the checkout in every spelling, symbolic links followed', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'swarmlet-policy-outside-'));
    const found = await violations(
      web(
        [
          'volumes:',
          '  - /etc:/host-etc:ro',
          '  - ../../..:/up',
          '  - ~/.ssh:/keys',
          '  - type: bind',
          '    source: /',
          '    target: /host',
          '  - ./escape/sub:/escape',
          '  - ./inside-link:/fine',
          '  - type: npipe',
          '    source: //./pipe/docker_engine',
          '    target: //./pipe/docker_engine',
        ].join('\n'),
      ),
      { 'real/file': '' },
      { escape: outside, 'inside-link': 'real' },
    );
    expect(found).toEqual([
      `docker-compose.yml: service web: volumes[0]: bind mount of /etc (a path outside the repository) ${TAIL}`,
      expect.stringMatching(
        /^docker-compose\.yml: service web: volumes\[1\]: bind mount of \.\.\/\.\.\/\.\. \(a path outside the repository: \/\S*\) is not allowed/,
      ),
      `docker-compose.yml: service web: volumes[2]: bind mount of ~/.ssh (a path outside the repository) ${TAIL}`,
      `docker-compose.yml: service web: volumes[3]: bind mount of / (a path outside the repository) ${TAIL}`,
      `docker-compose.yml: service web: volumes[4]: bind mount of ./escape/sub (a path outside the repository: ${join(outside, 'sub')}) ${TAIL}`,
      `docker-compose.yml: service web: volumes[6]: a named pipe mount ${TAIL}`,
    ]);
  });

  it('resolves relative paths against the directory of the compose file COMPOSE_FILE names', async () => {
    const tree = checkout({
      'deploy/docker-compose.yml': web('volumes:\n  - ./data:/data\n  - ../shared:/shared\n  - ../../x:/x'),
      'deploy/data/.keep': '',
      'shared/.keep': '',
    });
    const loaded = await loadCompose(tree, { COMPOSE_FILE: 'deploy/docker-compose.yml' });
    const found = await checkComposePolicy(loaded.compose, { app: APP, tree, file: loaded.file, claims });
    expect(found).toEqual([
      expect.stringMatching(
        /^deploy\/docker-compose\.yml: service web: volumes\[2\]: bind mount of \.\.\/\.\.\/x \(a path outside the repository/,
      ),
    ]);
  });

  it('refuses privileges and the host namespaces', async () => {
    const found = await violations(
      web(
        [
          'privileged: "${PRIV}"',
          'cap_add: [SYS_ADMIN, NET_ADMIN]',
          'devices: [/dev/fuse]',
          'pid: host',
          'ipc: host',
          'network_mode: host',
          'userns_mode: host',
          'security_opt: [seccomp=unconfined, "label:disable"]',
        ].join('\n'),
      ),
      {},
      {},
      { PRIV: 'yes' },
    );
    expect(found).toEqual([
      `docker-compose.yml: service web: privileged: privileged: true ${TAIL}`,
      `docker-compose.yml: service web: cap_add: cap_add (SYS_ADMIN, NET_ADMIN) ${TAIL}`,
      `docker-compose.yml: service web: devices: devices (/dev/fuse) ${TAIL}`,
      `docker-compose.yml: service web: pid: pid: host ${TAIL}`,
      `docker-compose.yml: service web: ipc: ipc: host ${TAIL}`,
      `docker-compose.yml: service web: userns_mode: userns_mode: host ${TAIL}`,
      `docker-compose.yml: service web: network_mode: network_mode: host ${TAIL}`,
      `docker-compose.yml: service web: security_opt[0]: seccomp=unconfined ${TAIL}`,
      `docker-compose.yml: service web: security_opt[1]: label:disable ${TAIL}`,
    ]);
  });

  it("refuses the host's network however it is named", async () => {
    const found = await violations(
      web(
        'networks: [hostnet, other]',
        'networks:\n  hostnet:\n    external: true\n    name: host\n  other:\n    external:\n      name: host\n',
      ),
    );
    expect(found).toEqual([
      `docker-compose.yml: service web: networks.hostnet: the host's network ${TAIL}`,
      `docker-compose.yml: service web: networks.other: the host's network ${TAIL}`,
    ]);
    expect(await violations(web('networks:\n  host: {}', 'networks:\n  host:\n    external: true\n'))).toEqual([
      `docker-compose.yml: service web: networks.host: the host's network ${TAIL}`,
    ]);
  });

  it('refuses env_file outside the checkout, also given as one path', async () => {
    expect(await violations(web('env_file: /etc/environment'))).toEqual([
      `docker-compose.yml: service web: env_file[0]: /etc/environment (a path outside the repository) ${TAIL}`,
    ]);
    expect(
      await violations(web('env_file:\n  - path: ../../../../../../etc/environment\n    required: false')),
    ).toEqual([
      expect.stringMatching(
        /^docker-compose\.yml: service web: env_file\[0\]: \.\.\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/environment \(a path outside the repository: \/etc\/environment\)/,
      ),
    ]);
  });

  it("refuses the platform's secrets and configs, and files outside the checkout", async () => {
    const found = await violations(
      web(
        'secrets: [token, password, passwd]\nconfigs: [conf]\nenv_file: [./ok.env, /etc/environment]',
        [
          'secrets:',
          '  token:',
          '    external: true',
          '    name: swarmlet-agent-token',
          '  password:',
          '    external: true',
          '  passwd:',
          '    file: ../../../../etc/passwd',
          '  swarmlet-registry-password:',
          '    external: true',
          'configs:',
          '  conf:',
          '    file: ./linked.conf',
          '    name: SWARMLET-conf',
          '',
        ].join('\n'),
      ),
      { 'ok.env': '' },
      { 'linked.conf': '/etc/hostname' },
    );
    expect(found).toEqual([
      `docker-compose.yml: service web: env_file[1]: /etc/environment (a path outside the repository) ${TAIL}`,
      `docker-compose.yml: secrets.token: the platform's secret swarmlet-agent-token ${TAIL}`,
      expect.stringMatching(
        /^docker-compose\.yml: secrets\.passwd\.file: \.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd \(a path outside the repository: \/etc\/passwd\) is not allowed/,
      ),
      `docker-compose.yml: secrets.swarmlet-registry-password: the platform's secret swarmlet-registry-password ${TAIL}`,
      `docker-compose.yml: configs.conf: the platform's config SWARMLET-conf ${TAIL}`,
      expect.stringMatching(
        /^docker-compose\.yml: configs\.conf\.file: \.\/linked\.conf \(a path outside the repository: \/etc\/hostname\)/,
      ),
    ]);
  });

  it("refuses volumes that are not the app's own or that a driver puts on the host", async () => {
    const found = await violations(
      web(
        'volumes: [a:/a, b:/b, c:/c, d:/d]',
        [
          'volumes:',
          '  a:',
          '    external: true',
          '    name: deployer_deployer-data',
          '  b:',
          '    driver_opts: {type: none, o: bind, device: /etc}',
          '  c:',
          '    driver: some-plugin',
          '  d:',
          '    name: shop_d',
          '',
        ].join('\n'),
      ),
    );
    expect(found).toEqual([
      `docker-compose.yml: volumes.a: the volume deployer_deployer-data, which is not one of this app's (shop_…), ${TAIL}`,
      `docker-compose.yml: volumes.b.driver_opts: a volume on the host's /etc ${TAIL}`,
      `docker-compose.yml: volumes.c.driver: the volume driver some-plugin ${TAIL}`,
    ]);
  });
});

describe('checkComposePolicy: Traefik routers', () => {
  const routed = (rule: string, place = 'deploy:\n  labels') =>
    web(`${place}:\n${place.startsWith('deploy') ? '    ' : '  '}traefik.http.routers.x.rule: ${JSON.stringify(rule)}`);

  it("refuses the platform's hosts, deployed or not, naming the owner", async () => {
    expect(await violations(routed('Host(`registry.example.test`)'))).toEqual([
      `docker-compose.yml: service web: deploy.labels.traefik.http.routers.x.rule: a router for registry.example.test, which the platform (registry) routes, ${TAIL}`,
    ]);
    expect(await violations(routed('Host(`shop.example.test`, `Traefik.Example.Test.`)'))).toEqual([
      `docker-compose.yml: service web: deploy.labels.traefik.http.routers.x.rule: a router for traefik.example.test, which the platform (router) routes, ${TAIL}`,
    ]);
  });

  it("refuses another app's hosts in every alternative of a rule, as list labels and container labels", async () => {
    expect(await violations(routed('Host(`shop.example.test`) || Host(`www.blog.example.test`)'))).toEqual([
      `docker-compose.yml: service web: deploy.labels.traefik.http.routers.x.rule: a router for www.blog.example.test, which app blog routes, ${TAIL}`,
    ]);
    const list = web('deploy:\n  labels:\n    - traefik.http.routers.y.rule=Host(`blog.example.test`)');
    expect(await violations(list)).toEqual([
      `docker-compose.yml: service web: deploy.labels.traefik.http.routers.y.rule: a router for blog.example.test, which app blog routes, ${TAIL}`,
    ]);
    expect(await violations(routed("Host('blog.example.test')", 'labels'))).toEqual([
      `docker-compose.yml: service web: labels.traefik.http.routers.x.rule: a router for blog.example.test, which app blog routes, ${TAIL}`,
    ]);
  });

  it('refuses rules that do not name their hosts: HostRegexp, catch-alls, negations, path-only rules', async () => {
    for (const rule of ['HostRegexp(`^.+\\.example\\.test$`)', 'HostSNIRegexp(`.*`)']) {
      expect(await violations(routed(rule))).toEqual([
        `docker-compose.yml: service web: deploy.labels.traefik.http.routers.x.rule: a HostRegexp rule (name each host with Host(\`…\`)) ${TAIL}`,
      ]);
    }
    for (const rule of [
      'PathPrefix(`/v2`)',
      '!Host(`shop.example.test`)',
      'Host(`shop.example.test`) || PathPrefix(`/`)',
      'HostSNI(`*`)',
    ]) {
      expect(await violations(routed(rule))).toEqual([
        `docker-compose.yml: service web: deploy.labels.traefik.http.routers.x.rule: the rule ${JSON.stringify(rule)}, which does not name its hosts with Host(\`…\`), ${TAIL}`,
      ]);
    }
  });

  it("refuses Traefik objects another stack defines and routers to Traefik's internal services", async () => {
    const found = await violations(
      web(
        [
          'deploy:',
          '  labels:',
          '    traefik.http.routers.registry.rule: Host(`shop.example.test`)',
          '    traefik.http.routers.registry.entrypoints: websecure',
          '    traefik.http.middlewares.blog-auth.basicauth.users: y',
          '    traefik.http.routers.dash.rule: Host(`shop.example.test`)',
          '    traefik.http.routers.dash.service: api@internal',
          '    traefik.http.routers.shop.rule: Host(`shop.example.test`)',
        ].join('\n'),
      ),
    );
    expect(found).toEqual([
      `docker-compose.yml: service web: deploy.labels.traefik.http.routers.registry.rule: the http router registry, which the platform (registry) already defines (Traefik's names are shared by every stack: rename it, e.g. shop-registry), ${TAIL}`,
      `docker-compose.yml: service web: deploy.labels.traefik.http.middlewares.blog-auth.basicauth.users: the http middleware blog-auth, which app blog already defines (Traefik's names are shared by every stack: rename it, e.g. shop-blog-auth), ${TAIL}`,
      `docker-compose.yml: service web: deploy.labels.traefik.http.routers.dash.service: a router to Traefik's own api@internal ${TAIL}`,
    ]);
  });
});

describe('the core stacks', () => {
  const coreEnv = {
    ROOT_DOMAIN: 'example.test',
    DOMAIN: 'example.test',
    ACME_EMAIL: 'ops@example.test',
    SWARMLET_EMAIL: 'ops@example.test',
    SWARMLET_USERNAME: 'admin',
  };

  it('would be refused as untrusted apps (they mount the socket, use platform secrets, the host network), so core apps are always trusted', async () => {
    const seen: string[] = [];
    for (const stack of CORE_APPS) {
      const tree = checkout({ 'docker-compose.yml': readFileSync(join(stacks, stack, 'docker-compose.yml'), 'utf8') });
      const loaded = await loadCompose(tree, coreEnv);
      const found = await checkComposePolicy(loaded.compose, {
        app: stack,
        tree,
        file: loaded.file,
        claims: routingClaims([], 'example.test', CORE_APPS),
      });
      expect(found.length).toBeGreaterThan(0);
      seen.push(...found);
      expect(isTrusted(stack, { config: {}, scale: {} })).toBe(true);
    }
    expect(seen.join('\n')).toContain('volumes[0]: bind mount of /var/run/docker.sock (the Docker socket)');
    expect(seen.join('\n')).toContain("secrets.registry-htpasswd: the platform's secret swarmlet-registry-htpasswd");
    expect(seen.join('\n')).toContain("networks.hostnet: the host's network");
    expect(isTrusted(APP, { config: {}, scale: {} })).toBe(false);
    expect(isTrusted(APP, { config: {}, scale: {}, trusted: true })).toBe(true);
  });
});

describe('routingClaims', () => {
  it("holds the platform's hosts under the root domain even when no core stack runs, then the swarm's", () => {
    expect(platformHosts('Example.Test')).toEqual([
      ['registry.example.test', 'registry'],
      ['traefik.example.test', 'router'],
      ['swarmlet.example.test', 'deployer'],
    ]);
    expect(Object.fromEntries(claims.hosts)).toEqual({
      'registry.example.test': { owner: 'registry', platform: true },
      'traefik.example.test': { owner: 'router', platform: true },
      'swarmlet.example.test': { owner: 'deployer', platform: true },
      'blog.example.test': { owner: 'blog', platform: false },
      'www.blog.example.test': { owner: 'blog', platform: false },
      'shop.example.test': { owner: APP, platform: false },
    });
    expect(claims.objects.get('http.routers.registry')).toEqual({ owner: 'registry', platform: true });
    expect(claims.objects.get('http.middlewares.blog-auth')).toEqual({ owner: 'blog', platform: false });
  });
});
