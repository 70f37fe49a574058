// What a workshop lab is: a starting state for the running mesh, a check that measures what the lab is about, and a reference solution.
import type { MeshConfig } from '@meshcart/mesh-config';
import type { LabMesh } from './lab-mesh';

/** One figure a check measured, with the goal it is held to. */
export interface Measured {
  name: string;
  value: number | string;
  unit?: string;
  /** What passing needs, in words: `≤ 0.1`, `ACK`, `403`. */
  goal?: string;
  ok?: boolean;
}

export interface CheckResult {
  pass: boolean;
  measured: Measured[];
  /** On fail: what is still wrong, each naming the knob or metric and how far it is from the goal. */
  stillWrong: string[];
  /** More to show after the figures (a chart, where a report was written), one line each. */
  notes?: string[];
}

export interface Lab {
  /** `02-connection-reuse`: the number orders the labs, the slug names the doc (docs/labs/<id>.md). */
  id: string;
  title: string;
  /** How long a learner takes, about. */
  minutes: number;
  /** What it needs beyond `npm start` (another mode, a second instance, …), or `npm start`. */
  needs: string;
  /** The starting state: changes the config in force (the framework remembers what it was), faults, processes. */
  start(mesh: LabMesh): Promise<LabStart>;
  check(mesh: LabMesh): Promise<CheckResult>;
  /** The reference solution: for teachers and tests. */
  solve(mesh: LabMesh): Promise<string[]>;
  /** Undo what start did beyond the config (processes it started); the framework restores the config itself. */
  reset?(mesh: LabMesh): Promise<void>;
}

export interface LabStart {
  /** What changed, one line each. */
  changes: string[];
  /** The config the lab starts from, written for the learner to edit and apply (meshctl apply -f FILE). */
  config?: MeshConfig;
}

/** A measured figure against an upper or lower bound. */
export function atMost(name: string, value: number, limit: number, unit = '', digits = 2): Measured {
  return { name, value: round(value, digits), unit, goal: `≤ ${limit}${unit ? ` ${unit}` : ''}`, ok: value <= limit };
}
export function atLeast(name: string, value: number, limit: number, unit = '', digits = 2): Measured {
  return { name, value: round(value, digits), unit, goal: `≥ ${limit}${unit ? ` ${unit}` : ''}`, ok: value >= limit };
}
export function equals(name: string, value: number | string, want: number | string, unit = ''): Measured {
  return { name, value, unit, goal: `= ${want}`, ok: value === want };
}
/** Informational: shown, not judged. */
export function shown(name: string, value: number | string, unit = '', digits = 2): Measured {
  return { name, value: typeof value === 'number' ? round(value, digits) : value, unit };
}

export const round = (v: number, digits = 2) => (Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v);

/** A check's result from its figures: passes when every judged one is ok; `wrong` explains each that is not. */
export function verdict(measured: Measured[], wrong: (m: Measured) => string): CheckResult {
  const failing = measured.filter((m) => m.ok === false);
  return { pass: failing.length === 0, measured, stillWrong: failing.map(wrong) };
}
