// The mesh config in force and every version applied before it: validated whole, compiled per service, kept for diff and rollback.
import type { CurrentConfig, HistoryEntry, HistoryVersion, PeerConfigEntry } from '@meshcart/control-plane-api';
import {
  compileProxyResources,
  contentVersion,
  loadMeshConfigFile,
  validateMeshConfig,
  type MeshConfig,
  type ResourcesSnapshot,
} from '@meshcart/mesh-config';
import { EventEmitter } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  unwatchFile,
  watchFile,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const PROFILE = /^[a-z0-9][a-z0-9-]*$/;
/** Versions kept; older ones are dropped from the history file. */
const HISTORY_LIMIT = 200;

export class UnknownVersionError extends Error {
  readonly code = 'UNKNOWN_VERSION';
}

/** Emits 'change' when the config in force changes, so every proxy gets the new resources. */
export class ConfigStore extends EventEmitter<{ change: [] }> {
  private history: HistoryEntry[] = [];
  private readonly compiled = new Map<string, ResourcesSnapshot>();
  private trustEpoch?: string;

  /**
   * Starts from the saved history (`stateDir`, if given) and applies the profile file on top when
   * it differs from the last version: the files in deploy/mesh stay the source of truth (GitOps).
   * Throws ConfigError (naming path and reason) when the file is invalid.
   */
  constructor(
    private readonly dir: string,
    profile: string,
    private readonly stateDir?: string,
  ) {
    super();
    this.reload();
    const config = this.loadProfile(profile);
    if (this.last()?.version !== contentVersion(config)) this.record(config, `profile file ${profile}.yaml`);
    // Replicas sharing the state folder see each other's changes and push them to their proxies.
    if (this.file) {
      watchFile(this.file, { interval: 250 }, () => {
        const before = this.last()?.version;
        this.reload();
        if (this.last()?.version !== before) {
          this.compiled.clear();
          this.emit('change');
        }
      });
    }
  }

  private get file(): string | undefined {
    return this.stateDir ? join(this.stateDir, 'history.json') : undefined;
  }

  private reload(): void {
    if (this.file && existsSync(this.file)) this.history = JSON.parse(readFileSync(this.file, 'utf8')) as HistoryEntry[];
  }

  close(): void {
    if (this.file) unwatchFile(this.file);
  }

  current(): CurrentConfig {
    const last = this.last()!;
    return { profile: last.profile, config: last.config, version: last.version };
  }

  versions(): HistoryVersion[] {
    return this.history.map(({ config: _c, ...rest }) => rest);
  }

  get(version: string): HistoryEntry {
    const entry = [...this.history].reverse().find((e) => e.version === version || e.version.startsWith(version));
    if (!entry) throw new UnknownVersionError(`no applied version "${version}"; see the history`);
    return entry;
  }

  /** Applies a whole new config; on any problem a ConfigError is thrown and the current one stays. */
  /** `by`: who applied it, kept in the history (the operator, a workload's identity). */
  apply(candidate: unknown, source: string, by?: string): HistoryEntry {
    return this.record(validateMeshConfig(candidate, source), source, by);
  }

  /** Changes the config in force (e.g. a fault for a drill); the result is validated whole. */
  patch(change: (draft: MeshConfig) => void, source = 'patch', by?: string): HistoryEntry {
    const draft = structuredClone(this.current().config);
    change(draft);
    return this.apply(draft, source, by);
  }

  rollback(version: string, by?: string): HistoryEntry {
    const target = this.get(version);
    return this.record(target.config, `rollback to ${target.version}`, by);
  }

  useProfile(profile: string, by?: string): HistoryEntry {
    return this.record(this.loadProfile(profile), `profile file ${profile}.yaml`, by);
  }

  /** Versions this store has applied from profile files: how a new replica tells a changed file from a restart. */
  fileVersions(): string[] {
    return [...new Set(this.history.filter((e) => e.source.startsWith('profile file')).map((e) => e.version))];
  }

  /**
   * Takes a version another control-plane replica applied. The later change wins (appliedAt, then
   * version as a tie-break), so replicas that hear of two changes in either order settle on the same
   * one; `force` takes it whatever its time (a replica joining adopts the running config). Validated
   * whole like any other change. Returns whether the config in force changed.
   */
  adopt(entry: Pick<PeerConfigEntry, 'version' | 'appliedAt' | 'source' | 'by' | 'config'>, force = false): boolean {
    const config = validateMeshConfig(entry.config, `${entry.source} (from a peer replica)`);
    if (contentVersion(config) !== entry.version)
      throw new Error(`peer config ${entry.version} does not match its content (${contentVersion(config)})`);
    return this.locked(() => {
      this.reload();
      const last = this.last()!;
      if (last.version === entry.version) return false;
      const later = entry.appliedAt > last.appliedAt || (entry.appliedAt === last.appliedAt && entry.version > last.version);
      if (!later && !force) return false;
      this.append({
        seq: last.seq + 1,
        version: entry.version,
        profile: config.metadata.name,
        appliedAt: entry.appliedAt,
        source: entry.source,
        ...(entry.by ? { by: entry.by } : {}),
        config,
      });
      return true;
    });
  }

  /** The whole entry in force, as replicas pass it to each other. */
  currentEntry(): HistoryEntry {
    return this.last()!;
  }

  /** The profiles in the config folder, by name (what `profile use` can switch to). */
  profiles(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .filter((p) => PROFILE.test(p))
      .sort();
  }

  /** A profile from the config folder, validated (does not apply it). */
  loadProfile(profile: string): MeshConfig {
    if (!PROFILE.test(profile)) throw new Error(`profile "${profile}" is not a valid name (lower-case letters, digits, "-")`);
    return loadMeshConfigFile(join(this.dir, `${profile}.yaml`));
  }

  /**
   * The CA's current roots (CertificateAuthority.trustEpoch), compiled into every proxy's resources:
   * a change is pushed to every proxy at once, which renews its certificate and trust bundle.
   */
  setTrustEpoch(epoch: string): void {
    if (epoch === this.trustEpoch) return;
    this.trustEpoch = epoch;
    this.compiled.clear();
    this.emit('change');
  }

  /** Resources for one proxy's service, compiled once per config. */
  resourcesFor(service: string): ResourcesSnapshot {
    let snapshot = this.compiled.get(service);
    if (!snapshot) {
      snapshot = compileProxyResources(this.current().config, service, { trustEpoch: this.trustEpoch });
      this.compiled.set(service, snapshot);
    }
    return snapshot;
  }

  private last(): HistoryEntry | undefined {
    return this.history[this.history.length - 1];
  }

  private record(config: MeshConfig, source: string, by?: string): HistoryEntry {
    return this.locked(() => {
      // Another replica may have applied something since: append after its latest.
      this.reload();
      // The same content is the same version: nothing new to keep or push.
      const last = this.last();
      if (last && last.version === contentVersion(config)) return last;
      return this.append({
        seq: (last?.seq ?? 0) + 1,
        version: contentVersion(config),
        profile: config.metadata.name,
        appliedAt: new Date().toISOString(),
        source,
        ...(by ? { by } : {}),
        config,
      });
    });
  }

  private append(entry: HistoryEntry): HistoryEntry {
    this.history.push(entry);
    if (this.history.length > HISTORY_LIMIT) this.history.splice(0, this.history.length - HISTORY_LIMIT);
    this.save();
    this.compiled.clear();
    this.emit('change');
    return entry;
  }

  /** One writer at a time across replicas: an exclusive lock file, taken over if a dead replica left it. */
  private locked<T>(fn: () => T): T {
    if (!this.stateDir) return fn();
    mkdirSync(this.stateDir, { recursive: true });
    const lock = join(this.stateDir, 'history.lock');
    const until = Date.now() + 5_000;
    for (;;) {
      try {
        closeSync(openSync(lock, 'wx'));
        break;
      } catch {
        const stale = existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 10_000;
        if (stale) unlinkSync(lock);
        else if (Date.now() > until) throw new Error(`config store is locked (${lock}); another replica is writing`);
        // A short blocking wait: a write holds the lock for about a millisecond, and contention is rare.
        else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
    try {
      return fn();
    } finally {
      unlinkSync(lock);
    }
  }

  /** Written whole to a temporary file, then renamed: a crash never leaves half a history. */
  private save(): void {
    if (!this.stateDir) return;
    mkdirSync(this.stateDir, { recursive: true });
    const file = join(this.stateDir, 'history.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(this.history));
    renameSync(`${file}.tmp`, file);
  }
}
