import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { execa } from 'execa';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureStandInImage, freePort, removeStack, repoRoot, requireEngine, waitFor } from '../support/docker.js';
import { commitFiles } from '../support/git.js';
import { startLocalPlatform, type LocalPlatform } from '../support/platform.js';

/** Where the screenshots of every page go, at desktop and phone widths (git-ignored; the README names it). */
const SCREENSHOTS = join(repoRoot, 'test/e2e/screenshots/dashboard');

const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

/** One service that serves its build's index.html and, at /greeting.txt, the config value GREETING it started with. */
const COMPOSE = `services:
  web:
    build: .
    command: ["sh", "-c", "echo \\"$$GREETING\\" > /www/greeting.txt && exec httpd -f -v -p 8080 -h /www"]
    environment:
      GREETING: \${GREETING}
    ports:
      - target: 8080
        published: \${PORT}
        mode: host
`;

/**
 * The web dashboard end to end: Debian's chromium, driven headless by playwright-core, against `swarmlet up`,
 * operating a pushed app as a person would. Every page also fails the test if it logs a console error or throws.
 */
describe('the web dashboard in a real browser', () => {
  const work = mkdtempSync(join(tmpdir(), 'swarmlet-dashboard-'));
  const app = `dash-${process.pid}`;
  const repo = join(work, 'app');
  let docker: Docker;
  let platform: LocalPlatform;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let base = '';
  let port = 0;
  let password = '';
  let firstCommit = '';
  let secondCommit = '';
  const problems: string[] = [];

  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined);
    return response?.ok ? response.text() : undefined;
  };
  const serving = (path: string, text: string) =>
    waitFor(`${path} to serve ${JSON.stringify(text)}`, async () => ((await get(path)) === text ? true : undefined), {
      timeoutMs: 180_000,
    });
  const watch = (target: Page): Page => {
    target.on('console', (message) => {
      if (message.type() !== 'error') return;
      // The refused sign-in's answer is a 401 page, which chromium also reports as a failed resource load.
      const refusedSignIn = new URL(target.url()).pathname === '/signin' && message.text().includes('status of 401');
      if (!refusedSignIn) problems.push(`console error on ${target.url()}: ${message.text()}`);
    });
    target.on('pageerror', (error) => problems.push(`page error on ${target.url()}: ${error.message}`));
    return target;
  };
  const screenshots = async (name: string, ready: (target: Page) => Promise<unknown>) => {
    for (const [width, viewport] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(viewport);
      await ready(page);
      await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize(VIEWPORTS.desktop);
  };
  const signIn = async (user: string, secret: string) => {
    await page.goto(`${base}/signin`);
    await page.getByLabel('User').fill(user);
    await page.getByLabel('Password').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
  };
  const actionDone = async () => {
    await page.locator('[data-action-status]').waitFor({ timeout: 240_000 });
    return page.locator('[data-action-status]').getAttribute('data-action-status');
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    docker = await requireEngine();
    await ensureStandInImage(docker, 'busybox');
    platform = await startLocalPlatform(work);
    base = `http://127.0.0.1:${platform.agentPort}`;
    password = readFileSync(join(work, 'data', 'dashboard-password'), 'utf8').trim();
    port = await freePort();
    await platform.initRepository(repo, app);
    firstCommit = await commitFiles(
      repo,
      {
        Dockerfile: 'FROM busybox\nCOPY index.html /www/index.html\n',
        'index.html': 'version one\n',
        'docker-compose.yml': COMPOSE,
        '.env': `PORT=${port}\nGREETING=from dotenv\n`,
      },
      'one',
    );
    const pushed = await platform.git(repo, 'push', 'swarmlet', 'master');
    if (pushed.exitCode !== 0) throw new Error(`the first push failed: ${pushed.all}`);
    await serving('/index.html', 'version one\n');
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: VIEWPORTS.desktop });
    page = watch(await context.newPage());
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await platform.stop();
    await removeStack(docker, app, `swarmlet.app=${app}`);
    rmSync(work, { recursive: true, force: true });
  }, 180_000);

  it('sends every page to sign-in without a session, and the API answers 401', async () => {
    for (const path of ['/', `/apps/${app}`, '/registry', '/nodes', '/keys']) {
      await page.goto(`${base}${path}`);
      expect(new URL(page.url()).pathname).toBe('/signin');
      expect(new URL(page.url()).searchParams.get('next')).toBe(path);
    }
    for (const path of ['/api/v1/apps', `/api/v1/apps/${app}/config?reveal=1`, '/api/v1/registry', '/api/v1/keys']) {
      expect((await fetch(`${base}${path}`)).status).toBe(401);
    }
    await screenshots('signin', (target) => target.getByRole('button', { name: 'Sign in' }).waitFor());
  }, 60_000);

  it('refuses a wrong password and signs in with the platform user', async () => {
    await signIn('admin', 'not the password');
    await page.getByText('Wrong user or password.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/signin');
    await signIn('admin', password);
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
  }, 60_000);

  it('lists the pushed app on the apps page', async () => {
    const row = page.locator('tr', { has: page.getByRole('link', { name: app, exact: true }) });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain(firstCommit.slice(0, 12));
    await screenshots('apps', (target) => target.getByRole('link', { name: app, exact: true }).waitFor());
  }, 60_000);

  it('shows a git push started elsewhere live on the app page, its log streaming, ending with the new version', async () => {
    await page.getByRole('link', { name: app, exact: true }).click();
    await page.getByRole('heading', { name: 'Services' }).waitFor();
    secondCommit = await commitFiles(repo, { 'index.html': 'version two\n' }, 'two');
    let pushEnded = false;
    const push = platform.git(repo, 'push', 'swarmlet', 'master').finally(() => {
      pushEnded = true;
    });
    const liveLog = page.locator('[data-live-log]');
    await liveLog.getByText('-----> ', { exact: false }).first().waitFor({ timeout: 120_000 });
    const seenWhileRunning = await liveLog.textContent();
    expect(pushEnded).toBe(false);
    const pushed = await push;
    expect(pushed.exitCode).toBe(0);
    await page.locator('[data-live-status="succeeded"]').waitFor({ timeout: 120_000 });
    const shown = (await liveLog.textContent()) ?? '';
    expect(shown.startsWith(seenWhileRunning ?? '')).toBe(true);
    for (const step of ['checkout', 'build', 'push', 'deploy', 'converge']) {
      expect(pushed.all).toContain(`remote: -----> ${step}`);
      expect(shown).toContain(`-----> ${step}`);
    }
    await page.locator('.deployed-commit', { hasText: secondCommit.slice(0, 12) }).waitFor({ timeout: 60_000 });
    await serving('/index.html', 'version two\n');
  }, 300_000);

  it('sets config from the page, masked until revealed; the redeploy serves the value', async () => {
    await page.locator('input[name="config-key"]').fill('GREETING');
    await page.locator('input[name="config-value"]').fill('hello from the dashboard');
    await page.getByRole('button', { name: 'Set', exact: true }).click();
    expect(await actionDone()).toBe('ok');
    await serving('/greeting.txt', 'hello from the dashboard\n');
    const row = page.locator('tr[data-config-key="GREETING"]');
    await row.waitFor();
    expect(await row.textContent()).not.toContain('hello from the dashboard');
    await row.getByRole('button', { name: 'Reveal' }).click();
    await row.getByText('hello from the dashboard').waitFor();
    await screenshots('app', (target) => target.getByRole('heading', { name: 'Deploys' }).waitFor());
  }, 300_000);

  it('rolls back from the page to the previous version', async () => {
    await page.getByRole('button', { name: 'Roll back' }).click();
    expect(await actionDone()).toBe('ok');
    await serving('/index.html', 'version one\n');
    await serving('/greeting.txt', 'hello from the dashboard\n');
    await page.locator('.deployed-commit', { hasText: firstCommit.slice(0, 12) }).waitFor({ timeout: 60_000 });
  }, 300_000);

  it('shows any deploy’s log from the history, and who started each', async () => {
    const history = page.locator('article', { has: page.getByRole('heading', { name: 'Deploys' }) });
    await history.getByText('rollback by admin (dashboard)').waitFor();
    await history.getByText('config by admin (dashboard)').waitFor();
    await history
      .locator('tr', { hasText: secondCommit.slice(0, 12) })
      .first()
      .getByRole('button', { name: 'Log' })
      .click();
    await page.locator('[data-deploy-log]').getByText('-----> ', { exact: false }).first().waitFor();
  }, 60_000);

  it('follows the app’s logs: a line written after opening appears', async () => {
    await page.getByRole('button', { name: 'Follow' }).click();
    const log = page.locator('[data-app-log]');
    await log.waitFor();
    const marker = `written after opening ${process.pid}`;
    const [container] = await docker.listContainers({
      filters: { label: [`com.docker.swarm.service.name=${app}_web`] },
    });
    if (!container) throw new Error('no running container of the web service');
    await waitFor('the follow to be open', async () => ((await log.textContent()) !== null ? true : undefined));
    await execa('docker', ['exec', container.Id, 'sh', '-c', `echo "${marker}" > /proc/1/fd/1`]);
    await log.getByText(marker).waitFor({ timeout: 60_000 });
    await page.getByRole('button', { name: 'Stop' }).click();
  }, 120_000);

  it('deletes a tag from the registry page, and the registry no longer lists it', async () => {
    await page.getByRole('link', { name: 'Registry' }).click();
    const repository = page.locator(`article[data-repository="${app}-web"]`);
    const tag = repository.locator(`tr[data-tag="${secondCommit}"]`);
    await tag.waitFor({ timeout: 60_000 });
    expect(await tag.textContent()).toMatch(/sha256:[0-9a-f]{12}/);
    await screenshots('registry', (target) => target.locator(`article[data-repository="${app}-web"]`).waitFor());
    await tag.getByRole('button', { name: 'Delete' }).click();
    await tag.getByRole('button', { name: `Really delete ${secondCommit}` }).click();
    await page.getByText(`Deleted ${app}-web:${secondCommit}.`).waitFor();
    const listed = (await (
      await fetch(`http://127.0.0.1:${platform.registryPort}/v2/${app}-web/tags/list`)
    ).json()) as { tags: string[] | null };
    expect(listed.tags ?? []).not.toContain(secondCommit);
    expect(listed.tags ?? []).toContain(firstCommit);
  }, 120_000);

  it('shows the nodes', async () => {
    await page.getByRole('link', { name: 'Nodes' }).click();
    await page.getByRole('cell', { name: 'manager (leader)' }).waitFor();
    await screenshots('nodes', (target) => target.getByRole('cell', { name: 'manager (leader)' }).waitFor());
  }, 60_000);

  it('adds a deployer key on the keys page, lists it with its role, and removes it', async () => {
    const keyFile = join(work, 'id_dashboard');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ignored', '-f', keyFile]);
    const publicKey = readFileSync(`${keyFile}.pub`, 'utf8').trim();
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.locator('tr[data-key="pusher"]').waitFor();
    await page.locator('textarea[name="key"]').fill(publicKey);
    await page.locator('input[name="comment"]').fill('from-the-dashboard');
    await page.locator('input[name="apps"]').fill(app);
    await page.getByRole('button', { name: 'Add key' }).click();
    const row = page.locator('tr[data-key="from-the-dashboard"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(`deployer of ${app}`);
    expect(readFileSync(join(work, 'authorized_keys'), 'utf8')).toContain(publicKey.split(' ')[1]);
    await screenshots('keys', (target) => target.locator('tr[data-key="from-the-dashboard"]').waitFor());
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.getByRole('button', { name: 'Really remove' }).click();
    await row.waitFor({ state: 'detached' });
    expect(readFileSync(join(work, 'authorized_keys'), 'utf8')).not.toContain(publicKey.split(' ')[1]);
    await page.locator('tr[data-key="pusher"]').waitFor();
  }, 60_000);

  it('refuses a cross-site POST: a form on another site, and a request with a foreign Origin', async () => {
    const before = (await (await page.request.get(`${base}/api/v1/apps/${app}/deploys`)).json()) as {
      deploys: unknown[];
    };
    const sitePort = await freePort();
    const site: Server = createServer((_request, response) => {
      response.setHeader('Content-Type', 'text/html');
      response.end(`<form method="post" action="${base}/api/v1/apps/${app}/redeploy"><button>go</button></form>`);
    });
    await new Promise<void>((resolve) => site.listen(sitePort, '127.0.0.2', resolve));
    try {
      const evil = await context.newPage();
      await evil.goto(`http://127.0.0.2:${sitePort}/`);
      const [answer] = await Promise.all([
        evil.waitForResponse((response) => response.url().endsWith('/redeploy')),
        evil.getByRole('button', { name: 'go' }).click(),
      ]);
      expect(answer.status()).toBe(401);
      await evil.close();
    } finally {
      site.close();
    }
    const csrf = (await page.locator('meta[name="csrf-token"]').getAttribute('content')) ?? '';
    const foreign = await page.request.post(`${base}/api/v1/apps/${app}/redeploy`, {
      headers: { 'X-CSRF-Token': csrf, Origin: 'http://evil.example' },
    });
    expect(foreign.status()).toBe(403);
    const tokenless = await page.request.post(`${base}/api/v1/apps/${app}/redeploy`);
    expect(tokenless.status()).toBe(403);
    const after = (await (await page.request.get(`${base}/api/v1/apps/${app}/deploys`)).json()) as {
      deploys: unknown[];
    };
    expect(after.deploys).toHaveLength(before.deploys.length);
  }, 60_000);

  it('restarts the app, then destroys it only once its name is typed', async () => {
    await page.goto(`${base}/apps/${app}`);
    await page.getByRole('button', { name: 'Restart' }).click();
    expect(await actionDone()).toBe('ok');
    const destroy = page.getByRole('button', { name: 'Destroy' });
    expect(await destroy.isDisabled()).toBe(true);
    await page.locator('input[name="destroy-confirm"]').fill(app.slice(0, -1));
    expect(await destroy.isDisabled()).toBe(true);
    await page.locator('input[name="destroy-confirm"]').fill(app);
    await destroy.click();
    await page.getByRole('heading', { name: 'Apps' }).waitFor({ timeout: 180_000 });
    await waitFor('the app to be gone from the apps page', async () =>
      (await page.getByRole('link', { name: app, exact: true }).count()) === 0 ? true : undefined,
    );
    const deploys = await page.request.get(`${base}/api/v1/apps/${app}/deploys`);
    expect(deploys.status()).toBe(404);
  }, 240_000);

  it('signs out: the pages send to sign-in again', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.goto(`${base}/nodes`);
    expect(new URL(page.url()).pathname).toBe('/signin');
  }, 60_000);

  it('logged no console error and threw no page error on any page', () => {
    expect(problems).toEqual([]);
  });

  it('swarmlet up printed the dashboard URL, the user and the password file, never the password', async () => {
    await platform.stop();
    const output = (await platform.process).all;
    expect(output).toContain(
      `dashboard       ${base}/  (user admin, password in ${join(work, 'data', 'dashboard-password')})`,
    );
    expect(output).not.toContain(password);
  }, 60_000);
});
