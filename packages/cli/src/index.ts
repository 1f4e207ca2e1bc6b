export { loadUpSettings, type UpSettings } from './settings.js';
export { up } from './up.js';
