// ESLint (flat config) with typescript-eslint. Formatting is Prettier's (npm run format); this
// file keeps the rules about code: no unused code, imports in order, and no reaching into
// another lib's files — import a lib by its name (`@app/platform`), which its index exports.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', 'apps/web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' }],
      'import-x/order': [
        'error',
        { groups: ['builtin', 'external', 'internal', 'parent', 'sibling', 'index'], pathGroups: [{ pattern: '@app/**', group: 'internal' }], 'newlines-between': 'never' },
      ],
      'import-x/first': 'error',
      // A variable read by a closure before its one assignment stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'import-x/no-duplicates': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^@app/(core|platform|referrals|waitlists|mediation|ttp)/',
              message: "Import the lib by its name (its index): deep imports couple you to another lib's files.",
            },
            { regex: '^(\\.\\./)+libs/', message: 'Import a lib by its name (@app/…), not by a relative path into it.' },
          ],
        },
      ],
    },
  },
  {
    // Exceptions: the provider tool runs on providers' machines and loads only the platform files
    // it needs (not Nest, TypeORM or BullMQ); migrations/data-source.ts and the jest global set-up
    // and teardown are loaded by tooling that knows no path aliases; core's test fixtures are
    // for tests and not exported.
    files: ['apps/provider-cli/**/*.ts', 'migrations/**/*.ts', 'test/support/global-*.ts', 'test/faults/support/global-*.ts', 'test/support/log-scan.ts', '**/*.spec.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        Buffer: 'readonly',
        global: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
);
