export { createAgentApp } from './agent.js';
export { loadAgentConfig, type AgentConfig } from './config.js';
export { connectEngine, describeEngine, ensureSwarm, type EngineStatus } from './docker/engine.js';
export { DockerStreamError, followProgress, type ProgressMessage } from './docker/progress.js';
export { waitForStack, type ConvergeOptions, type ConvergeResult, type ServiceProgress } from './docker/converge.js';
export { buildImage, hasImage, pushImage, tagImage, type BuildRequest, type RegistryAuth } from './docker/images.js';
export { deployStack, type StackDeployRequest } from './docker/stack.js';
export { splitReference } from './image-reference.js';
export {
  appUrls,
  planBuilds,
  resolveCompose,
  type BuildTarget,
  type ComposeFile,
  type ComposeService,
} from './compose/resolve.js';
export { validateAppName } from './app-name.js';
export { Deployer, type DeployerSettings } from './deployer.js';
export { deployEventStream, readDeployEvents, type DeployEvent, type DeployResult } from './deploy-stream.js';
export type { DeployRequest } from './pipeline.js';
export { writeDockerConfig } from './docker/credentials.js';
