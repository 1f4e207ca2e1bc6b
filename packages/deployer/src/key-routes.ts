import type { Router } from '@koa/router';
import { readJson } from './agent-routes.js';
import { isAppName } from './app-name.js';
import { OperationError } from './app-operations.js';

/** What the keys command answered. */
export interface KeysAnswer {
  /** 0 done, 1 refused, undefined when the words were not a keys command. */
  code: number | undefined;
  out: string[];
  err: string[];
}

/**
 * The platform's SSH keys, owned by the receiver: the agent runs the receiver's own `keys` command through it
 * (`keys list --json`, `keys add [--role R --apps A,B] [comment]` with the key line as input, `keys remove SELECTOR`),
 * so the dashboard and the other doors change the keys file one way.
 */
export interface KeysDoor {
  run(args: string[], input: string): Promise<KeysAnswer>;
}

const COMMENT = /^[^-\s][\x20-\x7e]{0,199}$/;

/**
 * The `/keys` routes, admins only (the dashboard's platform user, or the token):
 * - `GET /keys` → `{keys: [...as keys list --json], problems: [line]}`;
 * - `POST /keys` `{key: "<public key line>", comment?, role?: "admin"|"deployer", apps?: [app]}` → `{added}`;
 * - `DELETE /keys/<fingerprint or comment>` → `{removed}`.
 * What the keys command refuses answers 400 with its one line, and nothing changed.
 */
export function routeKeys(api: Router, keys: KeysDoor): void {
  api.get('/keys', async (ctx) => {
    const answer = await keys.run(['list', '--json'], '');
    if (answer.code !== 0) throw new OperationError(answer.err[0] ?? 'keys list failed');
    ctx.body = { keys: JSON.parse(answer.out.join('\n') || '[]') as unknown, problems: answer.err };
  });
  api.post('/keys', async (ctx) => {
    const body = await readJson(ctx.req);
    if (typeof body.key !== 'string' || body.key.trim() === '') throw new OperationError('key: a public key line');
    const args = ['add'];
    if (body.role !== undefined) {
      if (body.role !== 'admin' && body.role !== 'deployer') throw new OperationError('role: admin or deployer');
      args.push('--role', body.role);
    }
    if (body.apps !== undefined) {
      if (!Array.isArray(body.apps) || body.apps.some((app) => typeof app !== 'string' || !isAppName(app))) {
        throw new OperationError('apps: a list of app names');
      }
      args.push('--apps', body.apps.join(','));
    }
    if (body.comment !== undefined && body.comment !== '') {
      if (typeof body.comment !== 'string' || !COMMENT.test(body.comment)) {
        throw new OperationError('comment: printable text, not starting with "-"');
      }
      args.push(body.comment);
    }
    ctx.body = { added: answered(await keys.run(args, `${body.key.trim()}\n`)) };
  });
  api.delete('/keys/:selector', async (ctx) => {
    const selector = ctx.params.selector ?? '';
    if (!COMMENT.test(selector)) throw new OperationError('give a key by its fingerprint or comment');
    ctx.body = { removed: answered(await keys.run(['remove', selector], '')) };
  });
}

function answered(answer: KeysAnswer): string {
  if (answer.code !== 0) throw new OperationError(answer.err[0] ?? 'the keys command refused');
  return answer.out.join('\n');
}
