import { parseRepoName, RepoNameError } from './repo-name.js';

describe('parseRepoName', () => {
  it.each([
    ['my-app', 'my-app'],
    ['my-app.git', 'my-app'],
    ['/my-app.git', 'my-app'],
    ['~/my-app', 'my-app'],
    ["'my-app.git'", 'my-app'],
    ["'/registry'", 'registry'],
    ['app_2.v1', 'app_2.v1'],
  ])('accepts %s as %s', (raw, app) => {
    expect(parseRepoName(raw)).toBe(app);
  });

  it.each([
    '',
    '..',
    '../etc',
    'a/../b',
    'a..b',
    '/etc/passwd',
    '//app',
    '~root/app',
    'My-App',
    '.git',
    '-app',
    '.hidden',
    'app name',
    "app';rm -rf /;'",
    '"app"',
    "'app",
    'app\n',
    'a'.repeat(64),
    'app/sub',
  ])('refuses %j', (raw) => {
    expect(() => parseRepoName(raw)).toThrow(RepoNameError);
  });

  it('refuses the name of a platform stack that has no repository, saying so', () => {
    expect(() => parseRepoName('forwarder.git')).toThrow(
      "forwarder is the name of one of the platform's own stacks: choose another app name",
    );
  });
});
