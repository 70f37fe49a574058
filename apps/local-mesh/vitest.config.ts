import { projectConfig } from '../../vitest.shared.ts';

// Each test file starts a whole mesh (a dozen processes): one file at a time on two cores.
export default projectConfig({ fileParallelism: false });
