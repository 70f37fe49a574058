// `npm start`: runs the whole mesh on loopback, prints what runs where, stops everything on Ctrl-C.
import { readPort, workspaceRoot } from '@meshcart/service-kit';
import Table from 'cli-table3';
import { parseArgs } from 'node:util';
import type { MeshMode } from '@meshcart/mesh-config';
import { assertPortsFree, DEFAULT_PORTS, ensureDashboard, fixedPlan, LocalMesh } from '@meshcart/mesh-launcher';

const usage = `usage: npm start -- [--profile baseline|optimized] [--mode sidecar|proxyless|off] [--data-dir DIR] [--gateway-port N] [--control-plane-port N] [--port-base N]
  (or MESH_PROFILE, MESHCART_DATA_DIR, GATEWAY_PORT, CONTROL_PLANE_PORT, MESHCART_PORT_BASE)`;

function settings() {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string' },
      mode: { type: 'string' },
      'data-dir': { type: 'string' },
      'gateway-port': { type: 'string' },
      'control-plane-port': { type: 'string' },
      'port-base': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const env = {
    ...process.env,
    ...(values['gateway-port'] ? { GATEWAY_PORT: values['gateway-port'] } : {}),
    ...(values['control-plane-port'] ? { CONTROL_PLANE_PORT: values['control-plane-port'] } : {}),
    ...(values['port-base'] ? { MESHCART_PORT_BASE: values['port-base'] } : {}),
  };
  const mode = values.mode ?? process.env['MESH_MODE'];
  if (mode !== undefined && mode !== 'sidecar' && mode !== 'proxyless' && mode !== 'off') {
    throw new Error(`--mode must be sidecar, proxyless or off, not "${mode}"`);
  }
  return {
    mode: mode as MeshMode | undefined,
    profile: values.profile ?? process.env['MESH_PROFILE'] ?? 'optimized',
    dataDir: values['data-dir'] ?? process.env['MESHCART_DATA_DIR'] ?? '.data',
    ports: {
      gateway: readPort(env, 'GATEWAY_PORT', DEFAULT_PORTS.gateway),
      controlPlane: readPort(env, 'CONTROL_PLANE_PORT', DEFAULT_PORTS.controlPlane),
      base: readPort(env, 'MESHCART_PORT_BASE', DEFAULT_PORTS.base),
    },
  };
}

async function main() {
  let s: ReturnType<typeof settings>;
  try {
    s = settings();
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  const host = '127.0.0.1';
  const plan = fixedPlan(s.ports);
  try {
    await assertPortsFree(plan, host, {
      controlPlane: 'use --control-plane-port N (or CONTROL_PLANE_PORT)',
      gateway: 'use --gateway-port N (or GATEWAY_PORT)',
      base: 'move the service ports with --port-base N (or MESHCART_PORT_BASE)',
    });
  } catch (err) {
    console.error(`cannot start: ${(err as Error).message}`);
    process.exit(1);
  }

  console.log(`Starting MeshCart (profile ${s.profile}, data in ${s.dataDir}) ...`);
  const started = Date.now();
  // A fresh clone has no built dashboard: build it once (a few seconds); a failed build leaves the mesh usable, and the root says how to build it.
  await ensureDashboard(workspaceRoot(), (m) => console.log(`  … ${m}`)).catch((err: Error) =>
    console.warn(`  ! the dashboard could not be built (${err.message}); the mesh starts without it: npx nx build dashboard`),
  );
  let mesh: LocalMesh;
  try {
    mesh = await LocalMesh.start({
      plan,
      dataDir: s.dataDir,
      profile: s.profile,
      ...(s.mode ? { mode: s.mode } : {}),
      host,
      onProgress: (m) => console.log(`  ✓ ${m}`),
    });
  } catch (err) {
    console.error(`MeshCart failed to start: ${(err as Error).message}\nLogs: ${s.dataDir}/logs/`);
    process.exit(1);
  }

  const table = new Table({ head: ['process', 'role', 'listens on', 'pid'], style: { head: [], border: [] } });
  for (const row of mesh.rows()) table.push([row.name, row.role, row.url, String(row.pid ?? '')]);
  console.log(table.toString());
  console.log(`
MeshCart is up in ${((Date.now() - started) / 1000).toFixed(1)} s.
  Shop API (gateway):   ${mesh.gatewayUrl}/api/products
  Dashboard:            ${mesh.controlPlaneUrl}/
  Control plane:        ${mesh.controlPlaneUrl}/api/v1/proxies
  Mesh metrics:         ${Object.values(mesh.sidecarAdminUrls)[0] ?? '(mesh off: none)'}/metrics  (one admin port per instance)
  Logs:                 ${s.dataDir}/logs/
Press Ctrl-C to stop everything.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping MeshCart ...`);
    await mesh.stop();
    console.log('stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

await main();
