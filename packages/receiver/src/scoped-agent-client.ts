import { AgentClient, AgentError, type AgentTarget, type DeployResult } from '@swarmlet/deployer';
import { describeRole, mayReachApp, type KeyRole } from './key-role.js';

const LISTING = /^\/apps(?:\?|$)/;
const APP_PATH = /^\/apps\/([^/?]+)/;

/**
 * The agent's client for a key of `role`. An admin gets the plain client (the agent's API is admin-level). A
 * deployer gets one that answers the `apps` listing with its own apps only, and refuses, before anything is sent,
 * every other request that is not about one of its apps: the second line behind `commandRefusal`, holding even
 * for a verb whose words were classified wrongly. Every request method of `AgentClient` is overridden here (a
 * test fails when one is added without its override).
 */
export function agentClientFor(target: AgentTarget, role: KeyRole): AgentClient {
  return role.role === 'admin' ? new AgentClient(target) : new ScopedAgentClient(target, role);
}

class ScopedAgentClient extends AgentClient {
  constructor(
    target: AgentTarget,
    private readonly role: KeyRole,
  ) {
    super(target);
  }

  override async json<T>(path: string, signal?: AbortSignal): Promise<T> {
    if (!LISTING.test(path)) {
      this.check(path);
      return super.json<T>(path, signal);
    }
    const answer = await super.json<{ apps?: unknown }>(path, signal);
    if (Array.isArray(answer.apps)) answer.apps = answer.apps.filter((entry: unknown) => this.owns(entry));
    return answer as T;
  }

  override async change<T>(method: 'POST' | 'DELETE', path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    this.check(path);
    return super.change<T>(method, path, body, signal);
  }

  override async stream(
    method: 'POST' | 'DELETE',
    path: string,
    body: unknown,
    onLine: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<DeployResult> {
    this.check(path);
    return super.stream(method, path, body, onLine, signal);
  }

  override async events(
    path: string,
    onEvent: (event: Record<string, unknown>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.check(path);
    return super.events(path, onEvent, signal);
  }

  private owns(entry: unknown): boolean {
    return (
      typeof entry === 'object' &&
      entry !== null &&
      'app' in entry &&
      typeof entry.app === 'string' &&
      mayReachApp(this.role, entry.app)
    );
  }

  private check(path: string): void {
    const segment = APP_PATH.exec(path)?.[1];
    let app: string | undefined;
    try {
      app = segment === undefined ? undefined : decodeURIComponent(segment);
    } catch {
      app = undefined;
    }
    if (app === undefined || !mayReachApp(this.role, app)) {
      throw new AgentError(`this key is a ${describeRole(this.role)}: it cannot reach that`);
    }
  }
}
