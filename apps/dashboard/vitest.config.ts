import { projectConfig } from '../../vitest.shared.ts';

// The browser test starts a whole mesh and drives Chromium: minutes, not seconds, on two cores.
export default projectConfig({ include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'], testTimeout: 180_000, hookTimeout: 240_000 });
