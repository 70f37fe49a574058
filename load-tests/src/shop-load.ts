// `npm run load` (and the compose `load` profile): the shop's traffic against a running gateway, at a
// constant rate, with progress while it runs and a latency table at the end. Starts nothing itself.
import { writeFile } from 'node:fs/promises';
import { numberOption, parseOptions } from './case/bench-cli';
import { ShopScenario } from './case/shop-scenario';
import { runOpenLoop } from './lib/load-generator';
import { printTable } from './lib/table';

const COMMAND = 'load';
const USAGE = `usage: npm run load -- [--target URL] [--rate N] [--duration S] [--users N] [--json FILE]
  --target    the gateway (default $GATEWAY_URL or http://127.0.0.1:8080)
  --rate      requests per second, open loop (default 20)
  --duration  seconds of measured load (default 60)
  --users     shoppers registered before the load starts (default 10)
  --json      also write the summary as JSON to FILE`;

const { values } = parseOptions(COMMAND, {
  target: { type: 'string' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  users: { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', default: false },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const target = (values.target ?? process.env['GATEWAY_URL'] ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
if (!/^https?:\/\/[^/]+$/.test(target)) {
  console.error(`${COMMAND}: --target must be a gateway's base URL like http://127.0.0.1:8080, got "${target}"`);
  process.exit(2);
}
const rateRps = numberOption(COMMAND, values, 'rate', 20, 1, 10_000);
const durationS = numberOption(COMMAND, values, 'duration', 60, 1, 86_400);
const users = numberOption(COMMAND, values, 'users', 10, 1, 10_000);

const shop = new ShopScenario({ gatewayUrl: target, users, connections: 64 });
try {
  console.error(`${COMMAND}: registering ${users} shoppers at ${target}`);
  await shop.setUp(`${Date.now().toString(36)}-${process.pid}`);
  console.error(`${COMMAND}: ${rateRps} req/s for ${durationS} s (browse 60%, detail 25%, order 10%, history 5%)`);
  const r = await runOpenLoop({ rateRps, durationMs: durationS * 1000, warmupMs: 2_000, send: shop.sender(), label: 'shop', spin: false });
  const ms = (us: number) => (us / 1000).toFixed(2);
  printTable(
    `shop traffic at ${target}`,
    ['rate', 'achieved', 'requests', 'errors', 'mean ms', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    [[rateRps, r.achievedRps.toFixed(1), r.count, r.errors, ms(r.meanUs), ms(r.p50Us), ms(r.p90Us), ms(r.p99Us), ms(r.maxUs)]],
  );
  for (const sample of r.errorSamples) console.log(`error: ${sample}`);
  if (values.json) await writeFile(values.json, `${JSON.stringify({ when: new Date().toISOString(), target, ...r }, null, 2)}\n`);
} catch (err) {
  console.error(`${COMMAND}: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await shop.close();
}
