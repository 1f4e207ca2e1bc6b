export { createAgentApp, type AgentServices } from './agent.js';
export { serveAgent, type AgentExtras } from './serve-agent.js';
export { type KeysAnswer, type KeysDoor } from './key-routes.js';
export { loadAgentConfig, type AgentConfig } from './config.js';
export { connectEngine, describeEngine, ensureSwarm, type EngineStatus } from './docker/engine.js';
export { DockerStreamError, followProgress, type ProgressMessage } from './docker/progress.js';
export { waitForStack, type ConvergeOptions, type ConvergeResult, type ServiceProgress } from './docker/converge.js';
export {
  buildImage,
  chooseBuilder,
  hasImage,
  MissingBuildSecretError,
  pushImage,
  tagImage,
  type BuildRequest,
  type Builder,
  type BuilderSetting,
  type RegistryAuth,
} from './docker/images.js';
export {
  buildCacheUsage,
  formatSize,
  pruneBuildCache,
  type BuildCachePruneReport,
  type BuildCacheUsage,
} from './docker/build-cache.js';
export { decodeBuildTrace, PlainProgress, type BuildTrace } from './docker/buildkit-trace.js';
export { deployStack, type StackDeployRequest } from './docker/stack.js';
export { splitReference } from './image-reference.js';
export {
  appUrls,
  buildSecretsFor,
  planBuilds,
  resolveCompose,
  type BuildTarget,
  type ComposeFile,
  type ComposeService,
} from './compose/resolve.js';
export { PLATFORM_STACKS, validateAppName } from './app-name.js';
export { Deployer, type DeployerSettings } from './deployer.js';
export { openDeployEvents, readDeployEvents, type DeployEvent, type DeployResult } from './deploy-stream.js';
export { DEFAULT_BUILD_CACHE_LIMIT, type DeployRequest } from './pipeline.js';
export { writeDockerConfig } from './docker/credentials.js';
export { interpolateString, interpolateValue, InterpolationError, type Variables } from './compose/interpolate.js';
export { ComposeError } from './compose/compose-error.js';
export { COMPOSE_FILE_NAMES, loadCompose, type LoadedCompose } from './compose/load.js';
export { DotenvError, parseDotenv } from './environment/dotenv.js';
export {
  EntrypointError,
  sourceEntrypoint,
  type EntrypointOptions,
  type OutputStream,
} from './environment/entrypoint.js';
export {
  assembleEnvironment,
  DEFAULT_PATH,
  DEFAULT_REGISTRY,
  platformEnvironment,
  type DeployEnvironment,
  type PlatformVariables,
  type VariableSource,
} from './environment/assemble.js';
export { BuildContextError, packBuildContext, type BuildContext } from './build-context.js';
export { OutsideTreeError, resolveInTree } from './tree-path.js';
export { DeployHistory, HistoryError, KEPT_PER_APP, type DeployRecord, type RecordingDeploy } from './history.js';
export { DeployQueue, type QueueOutcome } from './queue.js';
export { AppSettingsError, AppSettingsStore, CONFIG_KEY, validateConfigKey, type AppSettings } from './app-settings.js';
export {
  AppOperations,
  CORE_APPS,
  OperationError,
  UnknownAppError,
  type AppStatus,
  type AppSummary,
  type OperationSettings,
} from './app-operations.js';
export { ACTOR_HEADER } from './deploy-stream.js';
export { AgentClient, AgentError, type AgentTarget } from './verbs/agent-client.js';
export { isVerb, runVerb, VERB_USAGE, type ExitStatus, type VerbIo } from './verbs/run-verb.js';
export { ShellWordsError, splitShellWords } from './verbs/shell-words.js';
export { parseSince, SinceError } from './log-since.js';
export { ensureOverlayNetwork, imageUnavailable } from './docker/router-support.js';
export { PRODUCTION_ROUTER, reachability, routeLabels, type RouterKind, type RouterSettings } from './routing.js';
export { NodeOperations, SWARM_PORTS, type JoinCommand } from './node-operations.js';
