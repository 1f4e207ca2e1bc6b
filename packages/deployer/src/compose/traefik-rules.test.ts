import { routerRules, ruleHosts, traefikObject } from './traefik-rules.js';

describe('ruleHosts', () => {
  it('reads every host of Host, HostHeader and HostSNI matchers, in any quoting, lower-cased', () => {
    expect(ruleHosts('Host(`a.test`, `B.test.`)')).toEqual({
      hosts: ['a.test', 'b.test'],
      restricted: true,
      regexp: false,
    });
    expect(ruleHosts('Host(`a.test`) || Host(\'b.test\') || HostHeader("c.test")').hosts).toEqual([
      'a.test',
      'b.test',
      'c.test',
    ]);
    expect(ruleHosts('HostSNI(`db.test`)')).toMatchObject({ hosts: ['db.test'], restricted: true });
  });

  it('is restricted only when every alternative names its hosts', () => {
    expect(ruleHosts('(Host(`a.test`) && PathPrefix(`/api`)) || Host(`b.test`)').restricted).toBe(true);
    expect(ruleHosts('PathPrefix(`/api`) && (Host(`a.test`) || Host(`b.test`))').restricted).toBe(true);
    expect(ruleHosts('Host(`a.test`) || PathPrefix(`/`)').restricted).toBe(false);
    expect(ruleHosts('!Host(`a.test`)').restricted).toBe(false);
    expect(ruleHosts('HostSNI(`*`)').restricted).toBe(false);
    expect(ruleHosts('Host(``)').restricted).toBe(false);
    expect(ruleHosts('Method(`GET`)')).toEqual({ hosts: [], restricted: false, regexp: false });
  });

  it('notices regular expressions', () => {
    expect(ruleHosts('HostRegexp(`^.+\\.a\\.test$`)')).toMatchObject({ regexp: true, restricted: false });
    expect(ruleHosts('Host(`a.test`) && HostSNIRegexp(`x`)').regexp).toBe(true);
  });
});

describe('Traefik labels', () => {
  it('finds router rules and the object a label belongs to', () => {
    expect(
      routerRules({
        'traefik.http.routers.web.rule': 'Host(`a.test`)',
        'traefik.tcp.routers.db.rule': 'HostSNI(`b.test`)',
        'traefik.http.routers.web.entrypoints': 'websecure',
      }),
    ).toEqual([
      { router: 'web', label: 'traefik.http.routers.web.rule', rule: 'Host(`a.test`)' },
      { router: 'db', label: 'traefik.tcp.routers.db.rule', rule: 'HostSNI(`b.test`)' },
    ]);
    expect(traefikObject('traefik.http.Services.web.loadbalancer.server.port')).toEqual({
      protocol: 'http',
      kind: 'services',
      name: 'web',
    });
    expect(traefikObject('traefik.enable')).toBeUndefined();
  });
});
