import type { AppDomain, AppStatus, AppSummary } from '../app-operations.js';
import type { CancelOutcome } from '../deployer.js';
import { CONFIG_KEY } from '../app-settings.js';
import type { DeployResult } from '../deploy-stream.js';
import type { LogLine } from '../docker/service-logs.js';
import type { DeployRecord } from '../history.js';
import { AgentError, type AgentClient } from './agent-client.js';
import {
  renderApps,
  renderCancel,
  renderDeploy,
  renderDeploys,
  renderDomains,
  renderLogLine,
  renderStatus,
} from './render.js';
import { NODES_USAGE, runNodes } from './node-verb.js';
import { JSON_FLAG, positionals, print, segment, UsageError, ValueError } from './verb-args.js';

/** Where a verb reads its input and writes its answer. */
export interface VerbIo {
  /** Writes text to standard output as it is (add the newline yourself). */
  write(text: string): void;
  /** Writes one line to standard error. */
  error(line: string): void;
  /** The whole of standard input (a multi-line config value). */
  readInput(): Promise<string>;
  /** Aborts when the user hangs up: a log follow ends then. */
  signal: AbortSignal;
}

/** The verbs, one line each, as `help` prints them. */
export const VERB_USAGE: readonly string[] = [
  'apps [--json]                                  every app: replicas, deployed commit, last outcome, URLs',
  'apps trust APP, apps untrust APP               (admin) lift or restore the compose policy for untrusted apps',
  'status APP [--json]                            services, images, tasks per node, policy, what is deploying',
  "logs APP [SERVICE] [-f] [-t] [--since 10m|TIME] [--tail N]   the services' logs from every node",
  'config show APP [--reveal] [--json]            the config keys (values masked unless --reveal)',
  'config get APP KEY [--json]                    one value, exactly as stored (no newline added)',
  'config set APP KEY=VALUE... [--no-deploy]      set values and deploy again without a rebuild',
  'config set APP KEY [--no-deploy] < file        set one value from standard input, as it is',
  'config unset APP KEY... [--no-deploy]          remove values and deploy again',
  'scale APP SERVICE=N|default...                 set replicas now and for later deploys',
  'restart APP [SERVICE]                          rolling restart under the update policy',
  'deploys APP [ID] [--json]                      the deploy history, or one deploy with its log',
  'rollback APP [ID]                              deploy an earlier version again (default: the previous)',
  'redeploy APP                                   deploy the deployed commit again with the current config',
  'destroy APP --confirm APP [--volumes]          remove the app and everything the platform keeps of it',
  'cancel APP [--json]                            stop the running deploy (the previous version keeps serving)',
  'domains APP [--json]                           the hosts the app is reached at, with service and source',
  'domains add APP HOST [--service S] [--port P]  route a host to a service (deployed again without a rebuild)',
  'domains remove APP HOST                        stop routing a host added with domains add',
  ...NODES_USAGE,
];

/** The exit status of a verb: 0 done, 1 failed or refused, 2 usage. */
export type ExitStatus = 0 | 1 | 2;

const VERBS = new Set([
  'apps',
  'status',
  'logs',
  'config',
  'scale',
  'restart',
  'deploys',
  'rollback',
  'redeploy',
  'destroy',
  'nodes',
  'cancel',
  'domains',
]);

/** Whether `verb` is one that {@link runVerb} runs. */
export function isVerb(verb: string | undefined): boolean {
  return verb !== undefined && VERBS.has(verb);
}

/**
 * Runs one day-2 verb (`args` as the user typed them, verb first) against the agent through `client`, writing
 * its answer to `io`: the same words, output, `--json` and exit status whichever door it came through (SSH, the
 * server's `swarmlet`, `npm start`'s CLI). A usage mistake answers one line and 2 before anything is asked of the
 * agent; a refusal or failure one line and 1. Never throws for bad input.
 */
export async function runVerb(args: readonly string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const [verb, ...rest] = args;
  try {
    switch (verb) {
      case 'apps':
        return await apps(rest, client, io);
      case 'status':
        return await status(rest, client, io);
      case 'logs':
        return await logs(rest, client, io);
      case 'config':
        return await config(rest, client, io);
      case 'scale':
        return await scale(rest, client, io);
      case 'restart': {
        const [app, service] = positionals(rest, {}, 1, 'restart APP [SERVICE]', 2).positionals;
        return await streamed(
          client,
          io,
          'POST',
          `/apps/${segment(app)}/restart`,
          service === undefined ? {} : { service },
        );
      }
      case 'deploys':
        return await deploys(rest, client, io);
      case 'rollback': {
        const [app, id] = positionals(rest, {}, 1, 'rollback APP [ID]', 2).positionals;
        return await streamed(
          client,
          io,
          'POST',
          `/apps/${segment(app)}/rollback`,
          id === undefined ? {} : { deploy: id },
        );
      }
      case 'redeploy': {
        const [app] = positionals(rest, {}, 1, 'redeploy APP', 1).positionals;
        return await streamed(client, io, 'POST', `/apps/${segment(app)}/redeploy`, {});
      }
      case 'destroy':
        return await destroy(rest, client, io);
      case 'nodes':
        return await runNodes(rest, client, io);
      case 'cancel':
        return await cancel(rest, client, io);
      case 'domains':
        return await domains(rest, client, io);
      default:
        io.error(
          verb === undefined
            ? 'no command given: `help` lists the commands'
            : `unknown command ${JSON.stringify(verb.slice(0, 40))}: \`help\` lists the commands`,
        );
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.error(error.message);
      return 2;
    }
    if (error instanceof AgentError || error instanceof ValueError) {
      io.error(error.message);
      return 1;
    }
    throw error;
  }
}

async function apps(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const [action, ...rest] = args;
  if (action === 'trust' || action === 'untrust') {
    const [app] = positionals(rest, {}, 1, `apps ${action} APP`, 1).positionals;
    return streamed(client, io, 'POST', `/apps/${segment(app)}/trust`, { trusted: action === 'trust' });
  }
  const { values } = positionals(args, JSON_FLAG, 0, 'apps [--json] | apps trust|untrust APP', 0);
  const answer = await client.json<{ apps: AppSummary[] }>('/apps', io.signal);
  return print(io, values.json === true, answer.apps, () => renderApps(answer.apps));
}

async function status(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const {
    values,
    positionals: [app],
  } = positionals(args, JSON_FLAG, 1, 'status APP [--json]', 1);
  const answer = await client.json<AppStatus>(`/apps/${segment(app)}`, io.signal);
  return print(io, values.json === true, answer, () => renderStatus(answer, new Date()));
}

async function deploys(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const {
    values,
    positionals: [app, id],
  } = positionals(args, JSON_FLAG, 1, 'deploys APP [ID] [--json]', 2);
  if (id === undefined) {
    const answer = await client.json<{ deploys: DeployRecord[] }>(`/apps/${segment(app)}/deploys`, io.signal);
    return print(io, values.json === true, answer.deploys, () => renderDeploys(answer.deploys));
  }
  const answer = await client.json<{ deploy: DeployRecord; log: string }>(
    `/apps/${segment(app)}/deploys/${segment(id)}`,
    io.signal,
  );
  return print(io, values.json === true, answer, () => renderDeploy(answer.deploy, answer.log));
}

async function logs(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const usage = 'logs APP [SERVICE] [-f] [-t] [--since DURATION|TIME] [--tail N]';
  const {
    values,
    positionals: [app, service],
  } = positionals(
    args,
    {
      follow: { type: 'boolean', short: 'f' },
      timestamps: { type: 'boolean', short: 't' },
      since: { type: 'string' },
      tail: { type: 'string' },
    },
    1,
    usage,
    2,
  );
  const query = new URLSearchParams();
  if (service !== undefined) query.set('service', service);
  if (values.follow === true) query.set('follow', '1');
  if (typeof values.since === 'string') query.set('since', values.since);
  if (typeof values.tail === 'string') query.set('tail', values.tail);
  let width = 8;
  let failure: string | undefined;
  await client.events(
    `/apps/${segment(app)}/logs?${query.toString()}`,
    (event) => {
      if (event.type === 'line') {
        const line = event as unknown as LogLine;
        width = Math.max(width, line.task.length);
        io.write(`${renderLogLine(line, values.timestamps === true, width)}\n`);
      } else if (event.type === 'error') failure = String(event.error);
    },
    io.signal,
  );
  if (failure === undefined) return 0;
  io.error(failure);
  return 1;
}

async function config(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const [action, ...rest] = args;
  if (action === 'show') {
    const {
      values,
      positionals: [app],
    } = positionals(rest, { ...JSON_FLAG, reveal: { type: 'boolean' } }, 1, 'config show APP [--reveal] [--json]', 1);
    const reveal = values.reveal === true;
    const answer = await client.json<{ config: Record<string, string | null> }>(
      `/apps/${segment(app)}/config${reveal ? '?reveal=1' : ''}`,
      io.signal,
    );
    const entries = Object.entries(answer.config);
    return print(io, values.json === true, answer.config, () =>
      entries.length === 0
        ? [`no config set for ${app}`]
        : entries.map(([key, value]) => `${key}=${value ?? '********'}`),
    );
  }
  if (action === 'get') {
    const {
      values,
      positionals: [app, key],
    } = positionals(rest, JSON_FLAG, 2, 'config get APP KEY [--json]', 2);
    const answer = await client.json<{ key: string; value: string }>(
      `/apps/${segment(app)}/config/${segment(key)}`,
      io.signal,
    );
    if (values.json === true) io.write(`${JSON.stringify(answer)}\n`);
    else io.write(answer.value);
    return 0;
  }
  if (action === 'set' || action === 'unset') {
    const usage =
      action === 'set'
        ? 'config set APP KEY=VALUE... [--no-deploy] (or a single KEY with its value on standard input)'
        : 'config unset APP KEY... [--no-deploy]';
    const {
      values,
      positionals: [app, ...pairs],
    } = positionals(rest, { 'no-deploy': { type: 'boolean' } }, 2, usage);
    const deploy = values['no-deploy'] !== true;
    if (action === 'unset') {
      for (const key of pairs) checkKey(key);
      return await streamed(client, io, 'POST', `/apps/${segment(app)}/config`, { unset: pairs, deploy });
    }
    const set: Record<string, string> = {};
    const single = pairs.length === 1 && pairs[0] !== undefined && !pairs[0].includes('=') ? pairs[0] : undefined;
    if (single !== undefined) {
      checkKey(single);
      const value = await io.readInput();
      if (value === '')
        throw new UsageError(`no value for ${single} on standard input: give ${single}=VALUE, or pipe the value in`);
      set[single] = value;
    } else {
      for (const pair of pairs) {
        const equals = pair.indexOf('=');
        if (equals < 0) {
          throw new UsageError(
            `${JSON.stringify(pair.slice(0, 80))} has no '=': give KEY=VALUE (or one KEY alone, with its value on standard input)`,
          );
        }
        set[checkKey(pair.slice(0, equals))] = pair.slice(equals + 1);
      }
    }
    return await streamed(client, io, 'POST', `/apps/${segment(app)}/config`, { set, deploy });
  }
  throw new UsageError('usage: config show|get|set|unset APP ... (`help` says more)');
}

async function scale(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const usage = 'scale APP SERVICE=N|default...';
  const {
    positionals: [app, ...pairs],
  } = positionals(args, {}, 2, usage);
  const changes: Record<string, number | 'default'> = {};
  for (const pair of pairs) {
    const match = /^([^=]+)=(\d{1,4}|default)$/.exec(pair);
    if (!match?.[1] || match[2] === undefined) {
      throw new UsageError(
        `${JSON.stringify(pair.slice(0, 80))}: give SERVICE=N (a number of replicas) or SERVICE=default`,
      );
    }
    changes[match[1]] = match[2] === 'default' ? 'default' : Number(match[2]);
  }
  return streamed(client, io, 'POST', `/apps/${segment(app)}/scale`, { scale: changes });
}

async function destroy(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const {
    values,
    positionals: [app],
  } = positionals(
    args,
    { confirm: { type: 'string' }, volumes: { type: 'boolean' } },
    1,
    'destroy APP --confirm APP [--volumes]',
    1,
  );
  return streamed(client, io, 'DELETE', `/apps/${segment(app)}`, {
    ...(typeof values.confirm === 'string' && { confirm: values.confirm }),
    volumes: values.volumes === true,
  });
}

async function cancel(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const {
    values,
    positionals: [app],
  } = positionals(args, JSON_FLAG, 1, 'cancel APP [--json]', 1);
  const answer = await client.change<CancelOutcome>('POST', `/apps/${segment(app)}/cancel`, {}, io.signal);
  return print(io, values.json === true, answer, () => renderCancel(answer));
}

async function domains(args: string[], client: AgentClient, io: VerbIo): Promise<ExitStatus> {
  const [action, ...rest] = args;
  if (action === 'add' && rest.length > 0) {
    const usage = 'domains add APP HOST [--service SERVICE] [--port PORT]';
    const {
      values,
      positionals: [app, host],
    } = positionals(rest, { service: { type: 'string' }, port: { type: 'string' } }, 2, usage, 2);
    const port = typeof values.port === 'string' ? values.port : undefined;
    if (port !== undefined && !/^\d{1,5}$/.test(port)) {
      throw new UsageError(`--port ${JSON.stringify(port.slice(0, 40))}: give a port number; usage: ${usage}`);
    }
    return streamed(client, io, 'POST', `/apps/${segment(app)}/domains`, {
      host,
      ...(typeof values.service === 'string' && { service: values.service }),
      ...(port !== undefined && { port: Number(port) }),
    });
  }
  if (action === 'remove' && rest.length > 0) {
    const [app, host] = positionals(rest, {}, 2, 'domains remove APP HOST', 2).positionals;
    return streamed(client, io, 'DELETE', `/apps/${segment(app)}/domains/${segment(host)}`, {});
  }
  const {
    values,
    positionals: [app],
  } = positionals(args, JSON_FLAG, 1, 'domains APP [--json] | domains add|remove APP HOST', 1);
  const answer = await client.json<{ domains: AppDomain[] }>(`/apps/${segment(app)}/domains`, io.signal);
  return print(io, values.json === true, answer.domains, () => renderDomains(app ?? '', answer.domains));
}

async function streamed(
  client: AgentClient,
  io: VerbIo,
  method: 'POST' | 'DELETE',
  path: string,
  body: unknown,
): Promise<ExitStatus> {
  const result: DeployResult = await client.stream(
    method,
    path,
    body,
    (line) => {
      io.write(`${line}\n`);
    },
    io.signal,
  );
  if (result.ok) {
    for (const url of result.urls ?? []) io.write(`-----> ${url}\n`);
    return 0;
  }
  throw new ValueError(
    result.status === 'superseded'
      ? "a newer deploy of the app took this one's place before it ran (a saved config or scale applies with it)"
      : `failed: ${result.error ?? 'no reason given'}`,
  );
}

function checkKey(key: string): string {
  if (!CONFIG_KEY.test(key)) {
    throw new UsageError(
      `invalid config key ${JSON.stringify(key.slice(0, 80))}: use letters, digits and '_', not starting with a digit`,
    );
  }
  return key;
}
