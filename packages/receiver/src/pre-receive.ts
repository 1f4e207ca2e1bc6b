import type { DeployClient } from './deploy-client.js';

/** One line of a pre-receive hook's input: a ref and the commits it moves between. */
export interface RefUpdate {
  oldCommit: string;
  newCommit: string;
  ref: string;
}

/** The branches whose push deploys the app. */
export const DEPLOY_REFS: readonly string[] = ['refs/heads/master', 'refs/heads/main'];

const UPDATE_LINE = /^([0-9a-f]{40}(?:[0-9a-f]{24})?) ([0-9a-f]{40}(?:[0-9a-f]{24})?) (refs\/\S+)$/;
const ZERO = /^0+$/;

/**
 * Parses a pre-receive hook's standard input: one `<old> <new> <ref>` line per updated ref.
 * @throws Error naming the first line that is not in that form.
 */
export function parseRefUpdates(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const match = UPDATE_LINE.exec(line);
    if (!match?.[1] || !match[2] || !match[3]) {
      throw new Error(`unexpected hook input on line ${index + 1}: ${JSON.stringify(line.slice(0, 120))}`);
    }
    updates.push({ oldCommit: match[1], newCommit: match[2], ref: match[3] });
  }
  return updates;
}

/** What {@link preReceive} decides about. */
export interface PreReceiveOptions {
  app: string;
  /** The bare repository, absolute. */
  repoPath: string;
  updates: readonly RefUpdate[];
  /** Where the pushed objects wait until the push is accepted (`GIT_QUARANTINE_PATH`), when git quarantines them. */
  quarantine: string | undefined;
  /** Gives the deployer to ask; called only when the push deploys. A rejection refuses the push with its message. */
  connect: () => Promise<DeployClient>;
  /** Shows one line to the pusher (git prefixes it with `remote:`). Must not throw. */
  say: (line: string) => void;
}

/**
 * Decides a push, as git's pre-receive hook: resolves with the hook's exit code (0 accepts every ref, anything
 * else rejects the whole push and no ref moves). A push to the deploy branch (`master` or `main`) is deployed
 * first, the deploy's log shown line by line, and accepted only when the deploy succeeded; deleting the deploy
 * branch, or pushing both deploy branches at once, is refused; other refs are accepted with the message
 * "not the deploy branch: nothing deployed".
 */
export async function preReceive(options: PreReceiveOptions): Promise<number> {
  const { say } = options;
  const deploys = options.updates.filter((update) => DEPLOY_REFS.includes(update.ref));
  const others = options.updates.filter((update) => !DEPLOY_REFS.includes(update.ref));
  const deploy = deploys[0];
  if (deploys.some((update) => ZERO.test(update.newCommit))) {
    say('-----> Deleting the deploy branch is refused: it is what the app runs.');
    return 1;
  }
  if (deploys.length > 1) {
    say('-----> Push one deploy branch at a time (master or main), not both.');
    return 1;
  }
  if (deploy) {
    const branch = deploy.ref.slice('refs/heads/'.length);
    say(`-----> Deploying ${options.app} from ${branch} (${deploy.newCommit.slice(0, 12)})`);
    let client: DeployClient;
    try {
      client = await options.connect();
    } catch (error) {
      say(`-----> Deploy failed: ${(error as Error).message}`);
      return 1;
    }
    const result = await client.deploy(
      {
        app: options.app,
        repoPath: options.repoPath,
        commit: deploy.newCommit,
        branch,
        ...(options.quarantine ? { objectDirectories: [options.quarantine] } : {}),
      },
      (line) => {
        for (const part of line.split('\n')) say(part);
      },
    );
    if (!result.ok) {
      say(`-----> Deploy failed: ${result.error ?? 'no reason given'}`);
      return 1;
    }
    const urls = result.urls ?? (result.url ? [result.url] : []);
    say(`-----> Deployed ${options.app}${urls.length > 0 ? `: ${urls.join(', ')}` : ''}`);
  }
  for (const update of others) {
    say(`-----> ${shortRef(update.ref)}: not the deploy branch: nothing deployed`);
  }
  return 0;
}

function shortRef(ref: string): string {
  return ref.replace(/^refs\/(?:heads|tags)\//, '');
}
