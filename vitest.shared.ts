// Shared Vitest settings: resolves the workspace's path aliases so tests import libs by name.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

const root = new URL('.', import.meta.url).pathname;
const base = JSON.parse(readFileSync(resolve(root, 'tsconfig.base.json'), 'utf8')) as {
  compilerOptions: { paths: Record<string, string[]> };
};
const alias = Object.fromEntries(Object.entries(base.compilerOptions.paths).map(([name, [target]]) => [name, resolve(root, target!)]));

export function projectConfig(overrides: ViteUserConfig['test'] = {}) {
  return defineConfig({
    resolve: { alias },
    test: {
      include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
      environment: 'node',
      testTimeout: 20_000,
      hookTimeout: 30_000,
      ...overrides,
    },
  });
}
