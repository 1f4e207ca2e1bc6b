import { restoreTypes } from './typed-fields.js';

describe('restoreTypes', () => {
  it('gives interpolated numbers and flags their types back where Compose types them', () => {
    const compose = {
      services: {
        web: {
          image: '1234',
          environment: { PORT: '8080', DEBUG: 'true' },
          init: 'TRUE',
          tty: 'no',
          cpus: '0.5',
          ports: [{ target: '80', published: '8080' }, { target: 443, published: '8000-8010' }, '9000:9000'],
          deploy: {
            replicas: ' 3 ',
            labels: { 'traefik.enable': 'true' },
            update_config: { parallelism: '2', max_failure_ratio: '0.25' },
            placement: { max_replicas_per_node: '1' },
          },
          healthcheck: { retries: '5', disable: 'off', interval: '10s' },
          ulimits: { nproc: '65535', nofile: { soft: '1024', hard: '2048' } },
          volumes: [{ type: 'bind', source: '.', target: '/app', read_only: 'yes' }, 'data:/data'],
        },
      },
      networks: { web: { external: 'true' } },
      volumes: { data: { external: 'false' } },
    };
    const before = structuredClone(compose);
    expect(restoreTypes(compose, 'compose.yaml')).toEqual({
      services: {
        web: {
          image: '1234',
          environment: { PORT: '8080', DEBUG: 'true' },
          init: true,
          tty: false,
          cpus: 0.5,
          ports: [{ target: 80, published: 8080 }, { target: 443, published: '8000-8010' }, '9000:9000'],
          deploy: {
            replicas: 3,
            labels: { 'traefik.enable': 'true' },
            update_config: { parallelism: 2, max_failure_ratio: 0.25 },
            placement: { max_replicas_per_node: 1 },
          },
          healthcheck: { retries: 5, disable: false, interval: '10s' },
          ulimits: { nproc: 65535, nofile: { soft: 1024, hard: 2048 } },
          volumes: [{ type: 'bind', source: '.', target: '/app', read_only: true }, 'data:/data'],
        },
      },
      networks: { web: { external: true } },
      volumes: { data: { external: false } },
    });
    expect(compose).toEqual(before);
  });

  it('leaves values that are typed already, and shapes it does not know, alone', () => {
    const compose = { services: { web: { deploy: { replicas: 2 }, ports: 'not a list', tty: null } }, networks: [] };
    expect(restoreTypes(compose, 'compose.yaml')).toEqual(compose);
    expect(restoreTypes('text', 'compose.yaml')).toBe('text');
  });

  it.each([
    [{ deploy: { replicas: '' } }, 'compose.yaml: services.web.deploy.replicas must be an integer, not ""'],
    [{ deploy: { replicas: '2.5' } }, 'compose.yaml: services.web.deploy.replicas must be an integer, not "2.5"'],
    [{ ports: [{ target: 'http' }] }, 'compose.yaml: services.web.ports[0].target must be an integer, not "http"'],
    [{ tty: 'maybe' }, 'compose.yaml: services.web.tty must be true or false, not "maybe"'],
    [{ cpus: 'half' }, 'compose.yaml: services.web.cpus must be a number, not "half"'],
  ])('refuses %j, naming the file, the path and the text', (web, message) => {
    expect(() => restoreTypes({ services: { web } }, 'compose.yaml')).toThrow(message);
  });
});
