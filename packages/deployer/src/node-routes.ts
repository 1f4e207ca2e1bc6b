import type { Router } from '@koa/router';
import { readJson } from './agent-routes.js';
import { OperationError } from './app-operations.js';
import type { NodeOperations } from './node-operations.js';

/**
 * The `/v1/nodes` routes behind `nodes`:
 * - `GET /nodes` → `{nodes: [...]}`; `GET /nodes/join-command?role=worker|manager` → the join command;
 * - `POST /nodes/<node>/availability` `{availability: "drain"|"active", force?}` → the node;
 * - `POST /nodes/<node>/labels` `{key, value: string|null, force?}` → the node (`null` removes the label).
 * An unknown node answers 404, other refused input 400, before anything changed.
 */
export function routeNodeVerbs(api: Router, nodes: NodeOperations): void {
  api.get('/nodes', async (ctx) => {
    ctx.body = { nodes: await nodes.list() };
  });
  api.get('/nodes/join-command', async (ctx) => {
    const role = ctx.query.role ?? 'worker';
    if (role !== 'worker' && role !== 'manager') throw new OperationError('role: worker or manager');
    ctx.body = await nodes.joinCommand(role);
  });
  api.post('/nodes/:node/availability', async (ctx) => {
    const body = await readJson(ctx.req);
    const { availability } = body;
    if (availability !== 'drain' && availability !== 'active')
      throw new OperationError('availability: drain or active');
    ctx.body = await nodes.setAvailability(ctx.params.node ?? '', availability, body.force === true);
  });
  api.post('/nodes/:node/labels', async (ctx) => {
    const body = await readJson(ctx.req);
    const { key, value } = body;
    if (typeof key !== 'string') throw new OperationError('key: a label key');
    if (value !== null && typeof value !== 'string') throw new OperationError('value: text, or null to remove');
    ctx.body = await nodes.label(ctx.params.node ?? '', key, value, body.force === true);
  });
}
