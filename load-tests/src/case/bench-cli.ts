// What the mesh benchmarks' commands share: numeric options checked up front, and meshes stopped on Ctrl-C.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { LoadSettings } from './case-runner';
import { stopMeshes, type RunningMesh } from './mesh-set';

/** The options both mesh benchmarks take (each adds its own). */
export const MESH_BENCH_OPTIONS = {
  quick: { type: 'boolean', default: false },
  json: { type: 'string' },
  rate: { type: 'string' },
  rounds: { type: 'string' },
  'rate-seconds': { type: 'string' },
  'saturation-seconds': { type: 'string' },
  concurrency: { type: 'string' },
  'warmup-seconds': { type: 'string' },
  out: { type: 'string', default: 'load-tests/results' },
} as const;

/** A numeric option, or the fallback; out of range → a clear message naming the option, exit 2 (nothing started yet). */
export function numberOption(command: string, values: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`${command}: --${name} must be a number from ${min} to ${max}, got "${String(raw)}"`);
    process.exit(2);
  }
  return n;
}

/** Ctrl-C or SIGTERM stops every mesh started so far (they run in their own process groups) before exiting. */
export function stopMeshesOnSignal(meshes: () => RunningMesh[]): void {
  const shutdown = async () => {
    await stopMeshes(meshes());
    process.exit(130);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/** node:util parseArgs, with a bad or unknown option reported in one line instead of a stack trace. */
export function parseOptions<T extends ParseArgsConfig['options']>(command: string, options: T) {
  try {
    return parseArgs({ options, strict: true });
  } catch (err) {
    console.error(`${command}: ${(err as Error).message}`);
    process.exit(2);
  }
}

/**
 * The load options of a mesh benchmark, with the command's own defaults. `rateRps` is left 0 until
 * the meshes are up (fixRate: --rate, or calibrated); `fixedRate` is --rate when given.
 */
export function loadOptions(
  command: string,
  values: Record<string, unknown>,
  defaults: { rateSeconds: number; saturationSeconds: number; warmupSeconds: number },
): { load: LoadSettings; fixedRate: number | undefined } {
  const num = (name: string, fallback: number, min: number, max: number) => numberOption(command, values, name, fallback, min, max);
  return {
    fixedRate: values['rate'] === undefined ? undefined : num('rate', 0, 1, 100_000),
    load: {
      rateRps: 0,
      rateSeconds: num('rate-seconds', defaults.rateSeconds, 0.5, 3600),
      saturationSeconds: num('saturation-seconds', defaults.saturationSeconds, 0.5, 3600),
      concurrency: num('concurrency', 32, 1, 4096),
      warmupSeconds: num('warmup-seconds', defaults.warmupSeconds, 0, 600),
    },
  };
}
