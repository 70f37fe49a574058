import { projectConfig } from '../../vitest.shared.ts';

// `npm run test:containers`: real containers of our own image, one file at a time (each starts a
// whole mesh). The image is built once, before any file runs.
export default projectConfig({
  include: ['test/**/*.container.spec.ts'],
  globalSetup: ['test/build-image.global-setup.ts'],
  fileParallelism: false,
  // testcontainers' reaper image comes from Docker Hub, which not every machine reaches; each test
  // stops what it started instead.
  env: { TESTCONTAINERS_RYUK_DISABLED: 'true' },
  testTimeout: 180_000,
  hookTimeout: 300_000,
});
