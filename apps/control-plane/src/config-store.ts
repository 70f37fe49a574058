// The mesh config in force: read from deploy/mesh/<profile>.yaml, validated whole, compiled per service.
import {
  compileProxyResources,
  loadMeshConfigFile,
  validateMeshConfig,
  type MeshConfig,
  type ResourcesSnapshot,
} from '@meshcart/mesh-config';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';

const PROFILE = /^[a-z0-9][a-z0-9-]*$/;

/** Emits 'change' when the config in force changes, so every proxy gets the new resources. */
export class ConfigStore extends EventEmitter<{ change: [] }> {
  private config: MeshConfig;
  private profile: string;
  private readonly compiled = new Map<string, ResourcesSnapshot>();

  /** Throws ConfigError (naming path and reason) when the file is invalid. */
  constructor(
    private readonly dir: string,
    profile: string,
  ) {
    super();
    this.config = this.load(profile);
    this.profile = profile;
  }

  current(): { profile: string; config: MeshConfig } {
    return { profile: this.profile, config: this.config };
  }

  /** Resources for one proxy's service, compiled once per config. */
  resourcesFor(service: string): ResourcesSnapshot {
    let snapshot = this.compiled.get(service);
    if (!snapshot) {
      snapshot = compileProxyResources(this.config, service);
      this.compiled.set(service, snapshot);
    }
    return snapshot;
  }

  /**
   * Changes the config in force (e.g. a fault for a drill). The changed config is validated whole:
   * on any problem a ConfigError is thrown and the current config stays in force.
   */
  patch(change: (draft: MeshConfig) => void): void {
    const draft = structuredClone(this.config);
    change(draft);
    this.config = validateMeshConfig(draft, 'patch');
    this.compiled.clear();
    this.emit('change');
  }

  private load(profile: string): MeshConfig {
    if (!PROFILE.test(profile)) throw new Error(`profile "${profile}" is not a valid name (lower-case letters, digits, "-")`);
    return loadMeshConfigFile(join(this.dir, `${profile}.yaml`));
  }
}
