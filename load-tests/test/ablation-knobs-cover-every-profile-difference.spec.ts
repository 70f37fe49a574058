import { loadMeshConfigFile, parseMeshConfig } from '@meshcart/mesh-config';
import { workspaceRoot } from '@meshcart/service-kit';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KNOBS, withKnobs } from '../src/case/knobs';

const root = workspaceRoot();
const baseline = loadMeshConfigFile(join(root, 'deploy/mesh/baseline.yaml'));
const optimized = loadMeshConfigFile(join(root, 'deploy/mesh/optimized.yaml'));
const spec = (c: typeof baseline) => JSON.parse(JSON.stringify(c.spec)) as unknown;

describe('the ablation knobs', () => {
  it('turn baseline into optimized when all are switched, and optimized into baseline the other way', () => {
    expect(spec(withKnobs(baseline, optimized, KNOBS))).toEqual(spec(optimized));
    expect(spec(withKnobs(optimized, baseline, KNOBS))).toEqual(spec(baseline));
  });

  it.each(KNOBS.map((k) => [k.name, k] as const))('%s changes the config on its own, and the result is a valid config', (_name, knob) => {
    const one = withKnobs(baseline, optimized, [knob]);
    expect(spec(one)).not.toEqual(spec(baseline));
    expect(() => parseMeshConfig(stringify(one), `baseline + ${knob.name}`)).not.toThrow();
    const less = withKnobs(optimized, baseline, [knob]);
    expect(spec(less)).not.toEqual(spec(optimized));
    expect(() => parseMeshConfig(stringify(less), `optimized - ${knob.name}`)).not.toThrow();
  });

  it('own disjoint parts of the config', () => {
    const paths = KNOBS.flatMap((k) => k.paths);
    expect(new Set(paths).size).toBe(paths.length);
    for (const a of paths) for (const b of paths) if (a !== b) expect(b.startsWith(`${a}.`)).toBe(false);
  });

  it('leave the inputs untouched', () => {
    const before = JSON.stringify(baseline);
    withKnobs(baseline, optimized, KNOBS);
    expect(JSON.stringify(baseline)).toBe(before);
  });
});
