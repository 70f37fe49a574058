// Every lab, in the order a workshop takes them (docs/labs/README.md lists the same).
import type { Lab } from './lab';
import { sidecarTax } from './01-sidecar-tax';
import { connectionReuse } from './02-connection-reuse';
import { mtlsCost } from './03-mtls-cost';

export const LABS: Lab[] = [sidecarTax, connectionReuse, mtlsCost];

/** A lab by its id (`02-connection-reuse`), its number (`2`, `02`) or its slug (`connection-reuse`). */
export function findLab(ref: string): Lab | undefined {
  const n = /^\d+$/.test(ref) ? Number(ref) : undefined;
  return LABS.find((l) => l.id === ref || l.id.slice(3) === ref || (n !== undefined && Number(l.id.slice(0, 2)) === n));
}
