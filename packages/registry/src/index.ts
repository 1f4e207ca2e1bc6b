export { createRegistryApp } from './app.js';
export { loadRegistryConfig, type RegistryConfig } from './config.js';
export { startRegistry, type RunningRegistry } from './server.js';
