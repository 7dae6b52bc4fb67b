// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'release/', 'test-results/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An un-awaited promise in a refresh path is how tokens get lost: make it an error.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises that the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    // The core never imports electron: it must run (and be tested) under plain Node.
    files: [
      'main/core/**',
      'main/pikpak/**',
      'main/service/**',
      'main/bridge/**',
      'main/daemon.ts',
      'main/cli.ts',
    ],
    rules: { 'no-restricted-imports': ['error', { paths: ['electron', 'electron-store'] }] },
  },
  {
    // Only the PikPak adapter may look at axios types.
    files: ['main/core/**', 'main/service/**'],
    rules: { 'no-restricted-imports': ['error', { paths: ['electron', 'electron-store', 'axios'] }] },
  },
  {
    files: ['main/shell/**'],
    rules: { 'no-restricted-imports': ['error', { paths: ['axios'] }] },
  },
  {
    files: ['**/*.test.ts', 'e2e/**', 'bench/**', 'scripts/**', 'main/cli/**', 'main/cli.ts'],
    rules: { 'no-console': 'off' },
  },
);
