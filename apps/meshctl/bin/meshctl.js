#!/usr/bin/env node
// Runs meshctl's TypeScript entry point through tsx, with the workspace's path aliases.
import { register } from 'tsx/esm/api';
import { fileURLToPath, URL } from 'node:url';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)) });
await import('../src/main.ts');
