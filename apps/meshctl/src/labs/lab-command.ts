// meshctl lab list | start | check | solve | reset: the workshop labs against the running mesh.
import { ConfigApplied, ContractCheck, type RollbackBody } from '@meshcart/control-plane-api';
import { writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { ControlPlaneApi } from '../control-plane-api';
import { UsageError } from '../fault-command';
import { table, type Output } from '../output';
import { findLab, LABS } from './index';
import type { Lab } from './lab';
import { LabMesh } from './lab-mesh';
import { labDir, LabStateFile, type LabState } from './lab-state';

const configApplied = new ContractCheck(ConfigApplied);

export const LAB_USAGE = `  meshctl lab list                       the workshop labs: time, what each needs (docs/labs)
  meshctl lab start ID                   put the running mesh in the lab's starting state
  meshctl lab check ID [--quick]         measure it: pass or fail, the figures, what is still wrong (exit 0 on pass)
  meshctl lab solve ID                   apply the lab's reference solution
  meshctl lab reset                      end the lab: the config in force before start, again
    (--gateway URL or MESHCTL_GATEWAY: the shop's gateway, default http://127.0.0.1:8080)`;

/** Thrown when a check fails: main prints nothing more and exits 1. */
export class CheckFailed extends Error {}

export interface LabCommandEnv {
  api: ControlPlaneApi;
  out: Output;
  env: NodeJS.ProcessEnv;
  /** Progress lines (stderr). */
  progress: (message: string) => void;
}

export async function labCommand(args: string[], { api, out, env, progress }: LabCommandEnv): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { gateway: { type: 'string' }, quick: { type: 'boolean', default: false } },
  });
  const [sub, ref] = positionals;
  const gatewayUrl = values.gateway ?? env['MESHCTL_GATEWAY'] ?? 'http://127.0.0.1:8080';
  const state = new LabStateFile(labDir(env));
  const meshFor = (notes: Record<string, unknown>) => new LabMesh({ api, gatewayUrl, quick: values.quick ?? false, progress, notes, dir: state.dir });
  const lab = () => {
    if (!ref) throw new UsageError(`meshctl lab ${sub} needs a lab: ${LABS.map((l) => l.id).join(', ')}`);
    const found = findLab(ref);
    if (!found) throw new UsageError(`no lab "${ref}"; the labs are ${LABS.map((l) => l.id).join(', ')} (meshctl lab list)`);
    return found;
  };
  /** The started lab's state; check and solve need the lab started (its starting state and notes). */
  const started = (l: Lab): LabState => {
    const s = state.read();
    if (!s) throw new UsageError(`lab ${l.id} is not started: run meshctl lab start ${l.id} first`);
    if (s.lab !== l.id) throw new UsageError(`lab ${s.lab} is started, not ${l.id}: run meshctl lab reset, then meshctl lab start ${l.id}`);
    return s;
  };

  switch (sub) {
    case 'list': {
      const current = state.read()?.lab;
      table(
        out,
        ['lab', 'title', 'minutes', 'needs', ''],
        LABS.map((l) => [l.id, l.title, l.minutes, l.needs, l.id === current ? 'started' : '']),
        LABS.map((l) => ({ id: l.id, title: l.title, minutes: l.minutes, needs: l.needs, doc: `docs/labs/${l.id}.md`, started: l.id === current })),
      );
      return;
    }
    case 'start': {
      const l = lab();
      const previous = state.read();
      if (previous) {
        progress(`lab ${previous.lab} was started: resetting it first`);
        await reset(previous, meshFor(previous.notes), api, progress);
        state.clear();
      }
      const before = await meshFor({}).config();
      const notes: Record<string, unknown> = {};
      const mesh = meshFor(notes);
      const s: LabState = {
        lab: l.id,
        controlPlane: api.baseUrl,
        startedAt: new Date().toISOString(),
        before: { version: before.version, profile: before.profile },
        notes,
      };
      // Recorded before anything changes, so a start that fails halfway can still be reset.
      state.write(s);
      progress(`starting lab ${l.id}: ${l.title}`);
      let result;
      try {
        result = await l.start(mesh);
      } finally {
        // The notes too (processes a half-done start left running), so reset can undo them.
        state.write(s);
      }
      let file: string | undefined;
      if (result.config) {
        file = state.configFile(l.id);
        mkdirSync(state.dir, { recursive: true });
        writeFileSync(file, `# Lab ${l.id}: the config the lab started from. Edit it, then: meshctl apply -f ${file}\n${stringify(result.config)}`);
      }
      if (out.json)
        return out.line(JSON.stringify({ lab: l.id, started: true, changes: result.changes, configFile: file ?? null, before: s.before }, null, 2));
      out.line(
        `lab ${l.id} started (${l.title}); the config before it, version ${before.version} (${before.profile}), comes back with meshctl lab reset`,
      );
      for (const c of result.changes) out.line(`  - ${c}`);
      if (file) out.line(`its config: ${file} (edit it, then meshctl apply -f ${file})`);
      out.line(`the steps: docs/labs/${l.id}.md · when done: meshctl lab check ${l.id}`);
      return;
    }
    case 'check': {
      const l = lab();
      const s = started(l);
      const result = await l.check(meshFor(s.notes));
      state.write(s);
      if (out.json) out.line(JSON.stringify({ lab: l.id, ...result }, null, 2));
      else {
        out.line(`lab ${l.id}: ${result.pass ? 'PASS' : 'FAIL'}`);
        table(
          out,
          ['measured', 'value', 'goal', ''],
          result.measured.map((m) => [
            m.name,
            `${m.value}${m.unit ? ` ${m.unit}` : ''}`,
            m.goal ?? '',
            m.ok === undefined ? '' : m.ok ? 'ok' : 'not yet',
          ]),
          result,
        );
        for (const n of result.notes ?? []) out.line(n);
        if (!result.pass) {
          out.line('still wrong:');
          for (const w of result.stillWrong) out.line(`  - ${w}`);
        }
      }
      if (!result.pass) throw new CheckFailed(`lab ${l.id}: check failed`);
      return;
    }
    case 'solve': {
      const l = lab();
      const s = started(l);
      const changes = await l.solve(meshFor(s.notes));
      state.write(s);
      if (out.json) return out.line(JSON.stringify({ lab: l.id, solved: true, changes }, null, 2));
      out.line(`lab ${l.id}: the reference solution is applied`);
      for (const c of changes) out.line(`  - ${c}`);
      out.line(`see it pass: meshctl lab check ${l.id}`);
      return;
    }
    case 'reset': {
      const s = state.read();
      if (!s) {
        if (out.json) return out.line(JSON.stringify({ reset: false, reason: 'no lab is started' }));
        return out.line('no lab is started; nothing to reset');
      }
      const version = await reset(s, meshFor(s.notes), api, progress);
      state.clear();
      if (out.json) return out.line(JSON.stringify({ reset: true, lab: s.lab, version, profile: s.before.profile }, null, 2));
      out.line(`lab ${s.lab} ended: the config it started from is in force again (version ${version}, ${s.before.profile})`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown lab command "${sub}"` : 'meshctl lab needs a command: list, start, check, solve or reset');
  }
}

/**
 * Undoes a lab: the config in force before it started first (so no route still points at what the
 * lab started), then the lab's own extras (processes, credentials).
 */
async function reset(s: LabState, mesh: LabMesh, api: ControlPlaneApi, progress: (m: string) => void): Promise<string> {
  let version = (await mesh.config()).version;
  if (version !== s.before.version) {
    progress(`rolling back to version ${s.before.version}`);
    version = (await api.call('POST', '/api/v1/config/rollback', configApplied, { to: s.before.version } satisfies RollbackBody)).version;
    await mesh.settle();
  }
  await findLab(s.lab)?.reset?.(mesh);
  return version;
}
