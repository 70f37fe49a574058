// meshctl apply / diff / history / rollback / profile: the config lifecycle, through the control plane.
import {
  ApplyReply,
  ConfigApplied,
  ConfigHistory,
  ContractCheck,
  HistoryEntry,
  type ApplyConfigBody,
  type ProfileSwitchBody,
  type RollbackBody,
} from '@meshcart/control-plane-api';
import { diffConfigs, MeshConfigSchema, parseMeshConfig, type ConfigChange, type MeshConfig } from '@meshcart/mesh-config';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ControlPlaneApi } from './control-plane-api';
import { UsageError } from './fault-command';
import { show, table, type Output } from './output';

const applyReply = new ContractCheck(ApplyReply);
const configApplied = new ContractCheck(ConfigApplied);
const configHistory = new ContractCheck(ConfigHistory);
const historyEntry = new ContractCheck(HistoryEntry);
const meshConfig = new ContractCheck(MeshConfigSchema);

export const CONFIG_USAGE = `  meshctl apply -f FILE [--dry-run]      validate and apply a MeshConfig (--dry-run: show the diff only)
  meshctl diff A B                       which knobs differ; A and B are files, versions or profile names
  meshctl history                        every applied version, and who applied it
  meshctl rollback --to VERSION          apply an earlier version again
  meshctl profile use NAME               apply deploy/mesh/NAME.yaml (baseline, optimized)`;

function changesTable(out: Output, changes: ConfigChange[], data: unknown): void {
  table(
    out,
    ['knob', 'from', 'to'],
    changes.map((c) => [c.path, show(c.from), show(c.to)]),
    data,
  );
}

export async function applyCommand(api: ControlPlaneApi, args: string[], out: Output): Promise<void> {
  const { values } = parseArgs({ args, options: { file: { type: 'string', short: 'f' }, 'dry-run': { type: 'boolean' } } });
  if (!values.file) throw new UsageError('apply needs -f FILE');
  if (!existsSync(values.file)) throw new UsageError(`no such file: ${values.file}`);
  const yaml = readFileSync(values.file, 'utf8');
  // Checked here first, so a broken file is reported with its path and reason before anything is sent.
  parseMeshConfig(yaml, values.file);
  const res = await api.call('POST', `/api/v1/config${values['dry-run'] ? '?dryRun=true' : ''}`, applyReply, {
    yaml,
    source: `meshctl apply -f ${values.file}`,
  } satisfies ApplyConfigBody);
  if (!out.json) {
    out.line(
      'dryRun' in res
        ? `dry run against ${res.from}: ${res.changes.length} change(s), nothing applied`
        : `applied version ${res.version}: ${res.changes.length} change(s)`,
    );
  }
  changesTable(out, res.changes, res);
}

async function resolveConfig(api: ControlPlaneApi, ref: string): Promise<MeshConfig> {
  if (existsSync(ref)) return parseMeshConfig(readFileSync(ref, 'utf8'), ref);
  if (/^[0-9a-f]{4,16}$/.test(ref)) return (await api.call('GET', `/api/v1/config/versions/${ref}`, historyEntry)).config;
  return api.call('GET', `/api/v1/profiles/${encodeURIComponent(ref)}`, meshConfig);
}

export async function diffCommand(api: ControlPlaneApi, args: string[], out: Output): Promise<void> {
  const [a, b] = args;
  if (!a || !b) throw new UsageError('diff needs two configs: files, versions or profile names');
  const changes = diffConfigs(await resolveConfig(api, a), await resolveConfig(api, b));
  if (!out.json) out.line(`${a} → ${b}: ${changes.length} knob(s) differ`);
  changesTable(out, changes, changes);
}

export async function historyCommand(api: ControlPlaneApi, out: Output): Promise<void> {
  const versions = await api.call('GET', '/api/v1/config/history', configHistory);
  const last = versions[versions.length - 1];
  table(
    out,
    ['#', 'version', 'profile', 'applied at', 'by', 'source', ''],
    versions.map((v) => [v.seq, v.version, v.profile, v.appliedAt, v.by ?? '', v.source, v === last ? 'in force' : '']),
    versions,
  );
}

export async function rollbackCommand(api: ControlPlaneApi, args: string[], out: Output): Promise<void> {
  const { values } = parseArgs({ args, options: { to: { type: 'string' } } });
  if (!values.to) throw new UsageError('rollback needs --to VERSION (see meshctl history)');
  const res = await api.call('POST', '/api/v1/config/rollback', configApplied, { to: values.to } satisfies RollbackBody);
  if (!out.json) out.line(`rolled back: version ${res.version} is in force again`);
  changesTable(out, res.changes, res);
}

export async function profileCommand(api: ControlPlaneApi, args: string[], out: Output): Promise<void> {
  const [sub, name] = args;
  if (sub !== 'use' || !name) throw new UsageError('usage: meshctl profile use NAME');
  const res = await api.call('POST', '/api/v1/config/profile', configApplied, { profile: name } satisfies ProfileSwitchBody);
  if (!out.json) out.line(`profile ${name} in force (version ${res.version})`);
  changesTable(out, res.changes, res);
}
