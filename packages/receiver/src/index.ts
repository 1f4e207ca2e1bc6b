export { parseRepoName, RepoNameError } from './repo-name.js';
export {
  ensureBareRepository,
  findBareRepository,
  installPreReceiveHook,
  preReceiveHookScript,
  type HookCommand,
} from './repositories.js';
export {
  addAuthorizedKey,
  AuthorizedKeysError,
  AuthorizedKeysFile,
  formatAuthorizedKey,
  parseAuthorizedKeyLine,
  parseAuthorizedKeys,
  readAuthorizedKeys,
  removeAuthorizedKey,
  setAuthorizedKeyRole,
  type AuthorizedKey,
  type AuthorizedKeysProblem,
  type ParsedAuthorizedKeys,
} from './authorized-keys.js';
export {
  decodePublicKey,
  isPublicKeyType,
  MIN_RSA_BITS,
  PUBLIC_KEY_TYPES,
  PublicKeyError,
  sshFingerprint,
  verifySignature,
  type PublicKey,
  type PublicKeyType,
  type VerifyOptions,
} from './public-key.js';
export { HOST_KEY_FILE, loadOrCreateHostKey, type HostKey } from './host-key.js';
export {
  HttpDeployClient,
  type DeployClient,
  type DeployRequest,
  type DeployOutcome,
  type HttpDeployClientOptions,
} from './deploy-client.js';
export { DEPLOY_REFS, parseRefUpdates, preReceive, type PreReceiveOptions, type RefUpdate } from './pre-receive.js';
export {
  parseGitCommand,
  startReceiver,
  type AgentAccess,
  type GitCommand,
  type GitService,
  type Receiver,
  type ReceiverOptions,
} from './server.js';
export { loadReceiverConfig, type ReceiverConfig } from './config.js';
export { CORE_REPOS, seedCoreRepositories } from './core-repos.js';
export { KEYS_USAGE, runKeysCommand, type KeysCommandIo } from './keys-command.js';
export { commandHelp, runCommand, type CommandContext } from './commands.js';
export { ADMIN, describeRole, KeyRoleError, parseKeyRole, type KeyRole } from './key-role.js';
export { KeyRolesFileError, readKeyRoles, rolesPathFor, type KeyRoles } from './key-roles-file.js';
export { commandRefusal, gitRefusal } from './access.js';
export { agentClientFor } from './scoped-agent-client.js';
