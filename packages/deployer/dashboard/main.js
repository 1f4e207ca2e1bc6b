// The dashboard's entry point: the layout, and the page the path names.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html, Link, signOut, user } from './ui.js';
import { AppsPage } from './pages/apps.js';
import { AppPage } from './pages/app.js';
import { RegistryPage } from './pages/registry.js';
import { NodesPage } from './pages/nodes.js';
import { KeysPage } from './pages/keys.js';

function route(path) {
  if (path === '/' || path === '/apps') return { page: AppsPage, title: 'Apps', section: 'apps' };
  const app = /^\/apps\/([a-z0-9][a-z0-9-]*)$/.exec(path)?.[1];
  if (app) return { page: AppPage, props: { app }, title: app, section: 'apps' };
  if (path === '/registry') return { page: RegistryPage, title: 'Registry', section: 'registry' };
  if (path === '/nodes') return { page: NodesPage, title: 'Nodes', section: 'nodes' };
  if (path === '/keys') return { page: KeysPage, title: 'Keys', section: 'keys' };
  return { page: NotFound, title: 'Not found' };
}

function NotFound() {
  return html`<section><h1>Not found</h1><p>No page here. <${Link} href="/">Back to the apps</${Link}></p></section>`;
}

function Dashboard() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const changed = () => setPath(location.pathname);
    addEventListener('popstate', changed);
    return () => removeEventListener('popstate', changed);
  }, []);
  const { page: Page, props, title, section } = route(path);
  useEffect(() => {
    document.title = `${title} · Swarmlet`;
  }, [title]);
  const nav = (href, name, key) =>
    html`<${Link} href=${href} class=${section === key ? 'current' : ''}>${name}</${Link}>`;
  return html`
    <header class="top">
      <${Link} href="/" class="brand">Swarmlet</${Link}>
      <nav aria-label="Sections">${nav('/', 'Apps', 'apps')} ${nav('/registry', 'Registry', 'registry')}
        ${nav('/nodes', 'Nodes', 'nodes')} ${nav('/keys', 'Keys', 'keys')}</nav>
      <span class="who">${user}</span>
      <button type="button" class="quiet" onClick=${() => void signOut()}>Sign out</button>
    </header>
    <main><${Page} key=${path} ...${props ?? {}} /></main>
  `;
}

const root = document.getElementById('root');
root.textContent = '';
render(html`<${Dashboard} />`, root);
