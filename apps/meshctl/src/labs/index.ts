// Every lab, in the order a workshop takes them (docs/labs/README.md lists the same).
import type { Lab } from './lab';
import { sidecarTax } from './01-sidecar-tax';
import { connectionReuse } from './02-connection-reuse';
import { mtlsCost } from './03-mtls-cost';
import { retryStorms } from './04-retry-storms';
import { circuitBreaking } from './05-circuit-breaking';
import { outlierDetection } from './06-outlier-detection';
import { canaryRelease } from './07-canary-release';
import { faultInjectionTimeouts } from './08-fault-injection-timeouts';
import { zeroTrust } from './09-zero-trust';
import { theWholeCase } from './10-the-whole-case';

export const LABS: Lab[] = [
  sidecarTax,
  connectionReuse,
  mtlsCost,
  retryStorms,
  circuitBreaking,
  outlierDetection,
  canaryRelease,
  faultInjectionTimeouts,
  zeroTrust,
  theWholeCase,
];

/** A lab by its id (`02-connection-reuse`), its number (`2`, `02`) or its slug (`connection-reuse`). */
export function findLab(ref: string): Lab | undefined {
  const n = /^\d+$/.test(ref) ? Number(ref) : undefined;
  return LABS.find((l) => l.id === ref || l.id.slice(3) === ref || (n !== undefined && Number(l.id.slice(0, 2)) === n));
}
