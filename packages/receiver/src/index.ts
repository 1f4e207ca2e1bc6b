export { parseRepoName, RepoNameError } from './repo-name.js';
export { ensureBareRepository } from './repositories.js';
