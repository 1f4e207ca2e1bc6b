import Docker from 'dockerode';
import request from 'supertest';
import { createAgentApp } from './agent.js';
import { connectEngine } from './docker/engine.js';

describe('deployer agent /health', () => {
  it('reports the real engine and its swarm', async () => {
    const response = await request(createAgentApp(connectEngine()).callback()).get('/health');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'ok',
      engine: { swarm: 'active', manager: true, apiVersion: expect.stringMatching(/^1\.\d+$/) as unknown },
    });
  });

  it('answers 503 with the reason when the engine does not answer', async () => {
    const app = createAgentApp(new Docker({ socketPath: '/nonexistent/docker.sock' }));
    const response = await request(app.callback()).get('/health');
    expect(response.status).toBe(503);
    expect(response.body).toEqual({
      status: 'unavailable',
      reason: expect.stringMatching(/^Docker engine: .*ENOENT/) as unknown,
    });
  });
});
