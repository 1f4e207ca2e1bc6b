export { createAgentApp } from './agent.js';
export { loadAgentConfig, type AgentConfig } from './config.js';
export { connectEngine, describeEngine, ensureSwarm, type EngineStatus } from './docker/engine.js';
export { DockerStreamError, followProgress, type ProgressMessage } from './docker/progress.js';
