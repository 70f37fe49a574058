// `npm run bench:peers`: one hop to the same upstream through each peer proxy, interleaved rounds on one machine, medians.
import { ManagedProcess, workspaceRoot } from '@meshcart/service-kit';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { bundleEntry, machineInfo, markdownTable, printTable, ProcessSampler, runClosedLoop, runOpenLoop, writeResults } from './lib';
import { haproxy, nginx } from './peers/native-peers';
import { stopAllNative } from './peers/os-processes';
import { meshcartProxyless, meshcartSidecar, meshcartSidecarFull, meshcartSidecarMtls } from './peers/meshcart-peers';
import { direct, fastifyHttpProxy, nodeForwarder } from './peers/node-peers';
import { PEER_NAMES, PeerUnavailableError, type Peer, type PeerName, type RunningPeer } from './peers/peer';
import { chartSpecs, summarize, TABLE_HEAD, tableRows, targetLine, targets, type PeerRecord } from './peers/summary';

const USAGE = `usage: npm run bench:peers -- [--quick] [--rate N] [--duration S] [--rounds N] [--only a,b] [--json FILE]
  --quick         1 round of short windows (under 3 minutes in all)
  --rate N        fixed arrival rate of the latency windows, req/s (default 500: below what the
                  heaviest path, two sidecars, sustains on a 2-core machine, so latency is not queueing)
  --duration S    seconds of each fixed-rate window; closed-loop windows are 60% of it (default 5, quick 3)
  --warmup S      seconds of warm-up before each window (default 1, quick 0.5)
  --rounds N      interleaved rounds; figures are medians over rounds (default 3, quick 1)
  --concurrency N requests in flight in the max-throughput windows (default 64)
  --only a,b      only these peers (direct is always measured: it is the baseline)
  --json FILE     also write the JSON results to FILE
  --out DIR       where peers.json, peers.md and the charts go (default load-tests/results)
  --cpu-prof DIR  write a V8 CPU profile of every Node proxy process (sidecars, forwarders) to DIR`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    only: { type: 'string' },
    json: { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} ${raw}: expected a positive number\n${USAGE}`);
    process.exit(2);
  }
  return n;
}
const quick = values.quick ?? false;
const cpuProfDir = values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined;
const rateRps = positive('rate', values.rate, 500);
const durationS = positive('duration', values.duration, quick ? 3 : 5);
const warmupS = values.warmup === '0' ? 0 : positive('warmup', values.warmup, quick ? 0.5 : 1);
const rounds = Math.round(positive('rounds', values.rounds, quick ? 1 : 3));
const concurrency = Math.round(positive('concurrency', values.concurrency, 64));
const only = values.only
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const name of only ?? []) {
  if (!(PEER_NAMES as readonly string[]).includes(name)) {
    console.error(`--only ${name}: unknown peer; peers are ${PEER_NAMES.join(', ')}`);
    process.exit(2);
  }
}

const ALL: Peer[] = [
  direct,
  nodeForwarder,
  fastifyHttpProxy,
  nginx,
  haproxy,
  meshcartSidecar,
  meshcartSidecarMtls,
  meshcartSidecarFull,
  meshcartProxyless,
];
const selected = ALL.filter((p) => p.name === 'direct' || !only || only.includes(p.name));
const log = (message: string) => process.stderr.write(`[bench:peers] ${message}\n`);
const root = workspaceRoot();
const tmpRoot = mkdtempSync(join(tmpdir(), 'meshcart-peers-'));
const path = '/items/42';

// Everything started is stopped on the way out: normal end, error, or Ctrl-C.
let upstream: ManagedProcess | undefined;
const running = new Map<PeerName, RunningPeer>();
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const [name, peer] of running) {
      await peer.closeClient().catch(() => undefined);
      await peer.stop().catch((err: Error) => log(`stopping ${name}: ${err.message}`));
    }
    running.clear();
    await stopAllNative();
    await upstream?.stop();
    rmSync(tmpRoot, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping everything started`);
    void cleanup().finally(() => process.exit(130));
  });
}

const records: PeerRecord[] = PEER_NAMES.map((name) => {
  const peer = ALL.find((p) => p.name === name)!;
  return { name, proxies: peer.proxies, setup: peer.setup, samples: [], ...(selected.includes(peer) ? {} : { skipped: 'not selected (--only)' }) };
});
const recordOf = (name: PeerName) => records.find((r) => r.name === name)!;

async function measureRound(round: number, peer: Peer, target: RunningPeer): Promise<void> {
  const label = `round ${round}/${rounds} ${peer.name}`;
  const samplers = target.proxyPids.map((pids) => new ProcessSampler(pids, 100));
  const t0 = performance.now();
  await Promise.all(samplers.map((s) => s.start()));
  // Timer-paced sends: a generator spinning for send precision would hold one of this machine's two
  // cores and starve the proxies under test. Its send lag (~0.5 ms) is in every peer's figures alike,
  // and cancels out of the added latency (peer minus direct, same round).
  const open = await runOpenLoop({
    rateRps,
    durationMs: durationS * 1000,
    warmupMs: warmupS * 1000,
    send: target.send,
    label: `${label} @${rateRps}/s`,
    spin: false,
  });
  const usage = await Promise.all(samplers.map((s) => s.stop()));
  const windowS = (performance.now() - t0) / 1000;
  const closed = await runClosedLoop({
    concurrency,
    durationMs: Math.max(500, durationS * 600),
    warmupMs: warmupS * 1000,
    send: target.send,
    label: `${label} ×${concurrency}`,
  });
  recordOf(peer.name).samples.push({
    round,
    open,
    closed,
    rssMb: usage.map((u) => u.maxRssMb),
    cpuSeconds: usage.map((u) => u.cpuSeconds),
    windowS,
  });
  const errors = open.errors + closed.errors;
  if (open.achievedRps < 0.95 * rateRps)
    log(`warning: ${label} served ${Math.round(open.achievedRps)}/s of ${rateRps}/s: the path (or this machine) could not keep up`);
  log(
    `${label}: p50 ${open.p50Us} µs, p99 ${open.p99Us} µs at ${Math.round(open.achievedRps)}/s; max ${Math.round(closed.achievedRps)} req/s` +
      (usage.length ? `; RSS ${usage.map((u) => u.maxRssMb.toFixed(1)).join('+')} MB` : '') +
      (errors ? `; ${errors} errors (${[...open.errorSamples, ...closed.errorSamples][0] ?? ''})` : ''),
  );
}

/** Other work on the machine skews every figure; the JSON keeps the load average so a reader can tell. */
function loadNow(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}
const loadAtStart = loadNow();

async function main(): Promise<void> {
  if (loadAtStart[0]! > machineInfo().cpus)
    log(`warning: load average ${loadAtStart[0]} on ${machineInfo().cpus} CPUs: other work will skew the figures`);
  log(
    `${selected.length} peers, ${rounds} round(s): ${durationS} s at ${rateRps} req/s, then ${Math.max(0.5, durationS * 0.6).toFixed(1)} s at ${concurrency} in flight, each after ${warmupS} s of warm-up`,
  );
  upstream = await ManagedProcess.start({
    name: 'bench-upstream',
    entry: await bundleEntry('load-tests/src/peers/upstream-server.ts'),
    readyTimeoutMs: 60_000,
    env: { PORT: '0' },
  });
  const upstreamUrl = `http://127.0.0.1:${upstream.ports['http']}`;
  log(`upstream (Fastify, own process) at ${upstreamUrl}`);

  for (const peer of selected) {
    const tmpDir = join(tmpRoot, peer.name);
    mkdirSync(tmpDir, { recursive: true });
    const t0 = performance.now();
    try {
      running.set(
        peer.name,
        await peer.start({ upstreamUrl, path, tmpDir, log, ...(cpuProfDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] } : {}) }),
      );
      log(`${peer.name} ready in ${Math.round(performance.now() - t0)} ms`);
    } catch (err) {
      const reason = err instanceof PeerUnavailableError ? err.message : `failed to start: ${(err as Error).message.split('\n')[0]}`;
      if (!(err instanceof PeerUnavailableError)) log(`${peer.name}: ${(err as Error).stack ?? String(err)}`);
      if (peer.name === 'direct') throw err;
      recordOf(peer.name).skipped = reason;
      log(`${peer.name} skipped: ${reason}`);
    }
  }

  for (let round = 1; round <= rounds; round++) {
    // Direct first in every round: each peer's added latency is against direct's figure of the same round.
    for (const peer of selected) {
      const target = running.get(peer.name);
      if (target) await measureRound(round, peer, target);
    }
  }
  await cleanup();

  const runs = summarize(records, rateRps);
  const goals = targets(runs, rateRps);
  const rows = tableRows(runs);
  printTable(`Peers, one hop to the same upstream: medians of ${rounds} interleaved round(s), ${rateRps} req/s fixed rate`, TABLE_HEAD, rows);
  for (const t of goals) console.log(targetLine(t));
  for (const r of runs) if ('skipped' in r && r.skipped !== 'not selected (--only)') console.log(`${r.name}: ${r.skipped}`);
  for (const r of runs) if (!('skipped' in r) && r.errorSamples.length) console.log(`${r.name}: ${r.errors} errors, e.g. ${r.errorSamples[0]}`);

  const json = {
    when: new Date().toISOString(),
    machine: machineInfo(),
    loadAverage: { atStart: loadAtStart, atEnd: loadNow() },
    rateRps,
    rounds,
    durationS,
    warmupS,
    concurrency,
    runs,
    targets: goals,
  };
  const markdown = [
    `# Peers: one hop to the same upstream`,
    '',
    `${json.when} on ${json.machine.cpus} × ${json.machine.cpuModel}, Node ${json.machine.node}. Medians of ${rounds} interleaved round(s):`,
    `latency at a fixed ${rateRps} req/s (open loop, ${durationS} s), max throughput with ${concurrency} requests in flight.`,
    `Added latency is the peer's minus direct's in the same round, divided by the proxies on the path.`,
    `RSS and CPU are per proxy process group (nginx: master + worker), during the fixed-rate window.`,
    `Load average at start ${json.loadAverage.atStart.join(' ')}, at end ${json.loadAverage.atEnd.join(' ')} (${json.machine.cpus} CPUs).`,
    '',
    markdownTable(TABLE_HEAD, rows),
    '',
    '## Targets',
    '',
    ...goals.map((t) => `- ${targetLine(t)}`),
    '',
    '## Setups',
    '',
    ...ALL.map((p) => `- **${p.name}** (${p.proxies} ${p.proxies === 1 ? 'proxy' : 'proxies'}): ${p.setup}`),
    '',
    '![added latency](peers-latency.svg)',
    '',
    '![max throughput](peers-throughput.svg)',
    '',
  ].join('\n');
  const { files } = await writeResults({
    dir: values.out ? resolve(values.out) : join(root, 'load-tests/results'),
    name: 'peers',
    json,
    markdown,
    charts: chartSpecs(runs),
    ...(values.json ? { jsonPath: values.json } : {}),
  });
  log(`wrote ${files.join(', ')}`);
}

try {
  await main();
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  await cleanup();
  process.exit(1);
}
