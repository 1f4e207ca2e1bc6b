/**
 * One jest run over every package and the end-to-end tests. The code is native ESM (TypeScript with NodeNext);
 * ts-jest transpiles it as ESM without type-checking (`tsc -b` and lint do that), so jest runs under
 * `node --experimental-vm-modules` and ESM-only dependencies such as execa load as they are.
 * Cross-package imports resolve to the packages' sources, so tests never depend on a stale build.
 */
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^@swarmlet/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/tsconfig.test.json' }],
  },
  testTimeout: 30_000,
  maxWorkers: 2,
};
