import request from 'supertest';
import { createRegistryApp } from './app.js';
import { loadRegistryConfig } from './config.js';

describe('registry app', () => {
  const app = createRegistryApp(loadRegistryConfig({}, {}));

  it('answers the API version check', async () => {
    const response = await request(app.callback()).get('/v2/');
    expect(response.status).toBe(200);
    expect(response.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(response.body).toEqual({});
  });
});
