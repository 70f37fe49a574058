import { projectConfig } from '../vitest.shared.ts';

// The bench smoke tests each start whole meshes; one file at a time keeps a 2-core machine usable.
export default projectConfig({ fileParallelism: false });
