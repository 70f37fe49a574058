import { describe, expect, it } from 'vitest';
import { ownerOf, summarize } from '../src/cpu-profile-summary';

describe('cpu profile summary', () => {
  it('tells MeshCart code from npm packages, Node internals and V8', () => {
    expect(ownerOf('file:///work/main/dist/bench/sidecar-main.mjs', 'run')).toBe('meshcart');
    expect(ownerOf('file:///work/main/node_modules/undici/lib/dispatcher/client-h1.js', 'writeH1')).toBe('undici');
    expect(ownerOf('file:///work/main/node_modules/@peculiar/asn1-schema/build/cjs/parser.js', 'parse')).toBe('@peculiar/asn1-schema');
    expect(ownerOf('node:internal/streams/readable', 'push')).toBe('node:internal/streams');
    expect(ownerOf('node:events', 'emit')).toBe('node:events');
    expect(ownerOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(ownerOf('', 'writev')).toBe('native (V8, C++ bindings)');
    expect(ownerOf('wasm://wasm/00034eea', 'wasm-function[20]')).toBe('undici (llhttp wasm)');
  });

  it("adds each sample's time delta to the sampled function", () => {
    const profile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'pick', url: 'file:///w/dist/bench/sidecar-main.mjs', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'write', url: 'file:///w/node_modules/undici/lib/x.js', lineNumber: 0 } },
      ],
      samples: [2, 3, 2, 2],
      timeDeltas: [1000, 3000, 1000, 2000],
    };
    const s = summarize(profile);
    expect(s.totalMs).toBe(7);
    expect(s.owners).toEqual([
      { name: 'meshcart', ms: 4, pct: 57.1 },
      { name: 'undici', ms: 3, pct: 42.9 },
    ]);
    expect(s.functions[0]).toEqual({ name: 'pick dist/bench/sidecar-main.mjs:10', ms: 4, pct: 57.1 });
  });
});
