// Public API of mesh-config: the one typed, validated config model and its compiled per-proxy resources.
export * from './schema';
export * from './resources';
export { ConfigError, type ConfigIssue } from './config-error';
export { parseMeshConfig, validateMeshConfig, loadMeshConfigFile } from './validate';
export { compileProxyResources, endpointsSnapshot, contentVersion, canonicalJson, serviceMode, durationMs, BUILT_IN_DEFAULTS } from './compile';
export { diffConfigs, ConfigChange } from './diff-configs';
