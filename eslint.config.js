import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Type-checked typescript-eslint rules over every TypeScript file; `any` is an error. */
export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.swarmlet/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Koa's app.callback() returns a promise-returning request listener that handles its own errors.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The dashboard's front end runs in the browser.
    files: ['packages/deployer/dashboard/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'AbortController',
          'EventSource',
          'PopStateEvent',
          'TextDecoder',
          'URLSearchParams',
          'addEventListener',
          'clearInterval',
          'dispatchEvent',
          'document',
          'fetch',
          'history',
          'location',
          'removeEventListener',
          'setInterval',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
);
