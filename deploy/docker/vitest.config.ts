import { projectConfig } from '../../vitest.shared.ts';

// Fast tests of the image's own code; the container tests run apart (vitest.containers.config.ts).
export default projectConfig({ exclude: ['test/**/*.container.spec.ts'] });
