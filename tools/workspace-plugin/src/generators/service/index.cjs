// Nx loads generators with require(); the generator is TypeScript (ES modules), so load it through tsx.
const { require: tsxRequire } = require('tsx/cjs/api');

module.exports = tsxRequire('./generator.ts', __filename);
