// Summarizes V8 .cpuprofile files (from `bench:peers --cpu-prof DIR`): where a process's CPU went, by function and by owner.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { printTable } from './lib';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** Who a frame's code belongs to: MeshCart's own, an npm package, or Node/V8 (the floor under everything). */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : 'native (V8, C++ bindings)';
  // The only WebAssembly in these proxies is undici's HTTP parser (llhttp); it is not MeshCart's.
  if (url.startsWith('wasm://')) return 'undici (llhttp wasm)';
  // node:internal/modules/… is start-up (module loading); node:internal/streams/… the request path.
  if (url.startsWith('node:'))
    return url
      .split('/')
      .slice(0, url.startsWith('node:internal/') ? 2 : 1)
      .join('/');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  return 'meshcart';
}

export function summarize(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // Self time per node: the sampled time deltas, attributed to the sampled (leaf) node.
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const f = n.callFrame;
    const file = f.url.replace(/^file:\/\/.*?\/(node_modules\/|dist\/|apps\/|libs\/)/, '$1');
    const key = `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const owner = ownerOf(f.url, f.functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ name: k, ms: Math.round(us / 1000), pct: Math.round((us / total) * 1000) / 10 }));
  return { totalMs: Math.round(total / 1000), functions: top(byFunction, 25), owners: top(byOwner, 15) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    console.error('usage: node --import tsx load-tests/src/cpu-profile-summary.ts FILE.cpuprofile|DIR ...');
    process.exit(2);
  }
  const files = args.flatMap((a) =>
    statSync(a).isDirectory()
      ? readdirSync(a)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(a, f))
      : [a],
  );
  for (const file of files) {
    const s = summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    printTable(
      `${file}: ${s.totalMs} ms sampled, by owner`,
      ['owner', 'self ms', '%'],
      s.owners.map((o) => [o.name, o.ms, o.pct]),
    );
    printTable(
      'by function (self time)',
      ['function', 'self ms', '%'],
      s.functions.map((o) => [o.name, o.ms, o.pct]),
    );
  }
}
