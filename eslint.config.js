// Lint rules for the whole workspace, including the Nx module boundaries (the tags and what each may import: docs/architecture.md).
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const scopeRules = [
  // A service never imports another service: each scope reaches shared code and the mesh library
  // (which it runs in-process in proxyless mode).
  { sourceTag: 'scope:user', onlyDependOnLibsWithTags: ['scope:user', 'scope:shared', 'scope:mesh'] },
  { sourceTag: 'scope:product', onlyDependOnLibsWithTags: ['scope:product', 'scope:shared', 'scope:mesh'] },
  { sourceTag: 'scope:order', onlyDependOnLibsWithTags: ['scope:order', 'scope:shared', 'scope:mesh'] },
  { sourceTag: 'scope:payment', onlyDependOnLibsWithTags: ['scope:payment', 'scope:shared', 'scope:mesh'] },
  // The data plane never imports a service.
  { sourceTag: 'scope:mesh', onlyDependOnLibsWithTags: ['scope:mesh', 'scope:shared'] },
  { sourceTag: 'scope:control-plane', onlyDependOnLibsWithTags: ['scope:control-plane', 'scope:mesh', 'scope:shared'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  // Deployment tooling (images, compose, manifests) builds and tests the apps; it imports only shared code.
  { sourceTag: 'scope:deploy', onlyDependOnLibsWithTags: ['scope:deploy', 'scope:shared'] },
  // Workspace tooling (the generators) reads the topology and the mesh config and writes files; it imports no service.
  { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:tools', 'scope:shared', 'scope:mesh'] },
];

const typeRules = (allowTesting) => [
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util', 'type:contract', ...(allowTesting ? ['type:testing'] : [])],
  },
  {
    sourceTag: 'type:feature',
    onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util', 'type:contract', ...(allowTesting ? ['type:testing'] : [])],
  },
  {
    sourceTag: 'type:data-access',
    onlyDependOnLibsWithTags: ['type:data-access', 'type:util', 'type:contract', ...(allowTesting ? ['type:testing'] : [])],
  },
  // Contracts depend only on utils.
  { sourceTag: 'type:contract', onlyDependOnLibsWithTags: ['type:util'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', ...(allowTesting ? ['type:testing'] : [])] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:util', 'type:contract', 'type:testing'] },
];

const boundaries = (allowTesting) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [...scopeRules, ...typeRules(allowTesting)],
  },
];

const testFiles = ['**/*.spec.ts', '**/test/**/*.ts'];
// Tool config files import the shared root config by path; they are not part of any project's code.
const toolFiles = ['**/vitest.config.ts', '**/vitest.*.config.ts'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.data/**', '**/.nx/**', 'load-tests/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { plugins: { '@nx': nx } },
  {
    files: ['**/*.ts', '**/*.tsx'],
    ignores: [...testFiles, ...toolFiles],
    rules: { '@nx/enforce-module-boundaries': boundaries(false) },
  },
  {
    // Tests may use the shared harnesses in libs/testing; production code may not.
    files: testFiles,
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
  {
    // CommonJS shims (the Nx generator entry, which Nx loads with require()).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __filename: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
);
