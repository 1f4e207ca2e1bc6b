import { parseRefUpdates, preReceive, type RefUpdate } from './pre-receive.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ZERO = '0'.repeat(40);

async function decide(updates: RefUpdate[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await preReceive({
    app: 'my-app',
    repoPath: '/repos/my-app.git',
    updates,
    quarantine: undefined,
    connect: () => Promise.reject(new Error('no deployer agent is configured (SWARMLET_AGENT_URL)')),
    say: (line) => lines.push(line),
  });
  return { code, lines };
}

describe('parseRefUpdates', () => {
  it('reads the hook input, SHA-1 and SHA-256', () => {
    const sha256 = 'c'.repeat(64);
    expect(parseRefUpdates(`${A} ${B} refs/heads/master\n${ZERO} ${sha256} refs/tags/v1\n`)).toEqual([
      { oldCommit: A, newCommit: B, ref: 'refs/heads/master' },
      { oldCommit: ZERO, newCommit: sha256, ref: 'refs/tags/v1' },
    ]);
  });

  it.each([`${A} ${B}`, `${A} ${B} master`, `${A} xyz refs/heads/master`, `${A}  ${B} refs/heads/master`])(
    'names a malformed line: %j',
    (line) => {
      expect(() => parseRefUpdates(`${A} ${B} refs/heads/x\n${line}\n`)).toThrow('unexpected hook input on line 2');
    },
  );
});

describe('preReceive', () => {
  it('stores other refs without asking the deployer', async () => {
    expect(
      await decide([
        { oldCommit: ZERO, newCommit: A, ref: 'refs/heads/feature' },
        { oldCommit: ZERO, newCommit: A, ref: 'refs/tags/v1' },
        { oldCommit: A, newCommit: ZERO, ref: 'refs/heads/old' },
      ]),
    ).toEqual({
      code: 0,
      lines: [
        '-----> feature: not the deploy branch: nothing deployed',
        '-----> v1: not the deploy branch: nothing deployed',
        '-----> old: not the deploy branch: nothing deployed',
      ],
    });
  });

  it('refuses deleting the deploy branch and pushing both deploy branches at once', async () => {
    expect(await decide([{ oldCommit: A, newCommit: ZERO, ref: 'refs/heads/main' }])).toEqual({
      code: 1,
      lines: ['-----> Deleting the deploy branch is refused: it is what the app runs.'],
    });
    expect(
      await decide([
        { oldCommit: ZERO, newCommit: A, ref: 'refs/heads/master' },
        { oldCommit: ZERO, newCommit: A, ref: 'refs/heads/main' },
      ]),
    ).toEqual({ code: 1, lines: ['-----> Push one deploy branch at a time (master or main), not both.'] });
  });

  it('refuses a deploy when no deployer can be reached, before any other ref is reported', async () => {
    expect(
      await decide([
        { oldCommit: ZERO, newCommit: A, ref: 'refs/heads/feature' },
        { oldCommit: A, newCommit: B, ref: 'refs/heads/master' },
      ]),
    ).toEqual({
      code: 1,
      lines: [
        `-----> Deploying my-app from master (${B.slice(0, 12)})`,
        '-----> Deploy failed: no deployer agent is configured (SWARMLET_AGENT_URL)',
      ],
    });
  });
});
