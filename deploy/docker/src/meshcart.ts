// The image's entrypoint. `meshcart <role> [args]` runs one MeshCart process in this container;
// `meshcart healthcheck` (the image's HEALTHCHECK) probes whichever role this container runs;
// `meshcart drain` (an app container's preStop) takes the pod's sidecar out of the mesh first.
import { readFileSync, readdirSync } from 'node:fs';
import { ROLES } from './roles';

function usage(): string {
  const width = Math.max(...Object.keys(ROLES).map((r) => r.length));
  const lines = Object.entries(ROLES).map(([name, r]) => `  ${name.padEnd(width)}  ${r.summary}`);
  return (
    `usage: meshcart <role> [args]\n\nroles:\n${lines.join('\n')}\n  ${'healthcheck'.padEnd(width)}  probe this container's role (the image's HEALTHCHECK)\n` +
    `  ${'drain'.padEnd(width)}  take this pod's sidecar out of the mesh, then wait MESH_DRAIN_SECONDS (default 5) for peers to stop sending (a preStop hook)`
  );
}

/** The role this container's main process runs, read from its command line (PID 1, or below an init). */
function runningRole(): string | undefined {
  for (const pid of readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .sort((a, b) => Number(a) - Number(b))) {
    if (Number(pid) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const role = args[args.findIndex((a) => a.endsWith('/meshcart.js')) + 1];
      if (args.some((a) => a.endsWith('/meshcart.js')) && role && role in ROLES) return role;
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

async function healthcheck(): Promise<number> {
  const role = runningRole();
  const url = process.env['HEALTHCHECK_URL'] ?? (role ? ROLES[role]!.health?.(process.env) : undefined);
  if (!url) {
    console.error(role ? `healthcheck: role "${role}" has nothing to probe` : 'healthcheck: no MeshCart role runs in this container');
    return role ? 0 : 1;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    if (res.ok) return 0;
    console.error(`healthcheck: ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  } catch (err) {
    console.error(`healthcheck: ${url}: ${(err as Error).message}`);
  }
  return 1;
}

/**
 * An app's shutdown starts before its sidecar's (Kubernetes stops a native sidecar after the app):
 * run first, this deregisters the pod's sidecar (SIDECAR_ADMIN_URL, its loopback admin port) so
 * peers stop sending, then waits while they hear of it and calls on their way finish. Only then is
 * the app told to stop.
 */
async function drain(): Promise<number> {
  const admin = process.env['SIDECAR_ADMIN_URL'] ?? 'http://127.0.0.1:15000';
  const raw = process.env['MESH_DRAIN_SECONDS'] ?? '5';
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 600) {
    console.error(`drain: MESH_DRAIN_SECONDS=${JSON.stringify(raw)} is invalid: expected seconds from 0 to 600`);
    return 2;
  }
  try {
    const res = await fetch(`${admin}/drain`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    if (!res.ok) {
      console.error(`drain: ${admin}/drain answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return 1;
    }
  } catch (err) {
    console.error(`drain: ${admin}/drain: ${(err as Error).message}`);
    return 1;
  }
  console.log(`drain: left the mesh; waiting ${seconds} s for peers to stop sending`);
  await new Promise((r) => setTimeout(r, seconds * 1_000));
  return 0;
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'healthcheck') {
  process.exit(await healthcheck());
} else if (role === 'drain') {
  process.exit(await drain());
} else if (!role || role === 'help' || role === '--help') {
  console.log(usage());
} else if (!(role in ROLES)) {
  console.error(`meshcart: unknown role "${role}"\n\n${usage()}`);
  process.exit(2);
} else {
  // The role's own command line sees only its arguments, as if it had been started directly.
  process.argv = [process.argv[0]!, new URL(`./${role}.js`, import.meta.url).pathname, ...rest];
  await import(new URL(`./${role}.js`, import.meta.url).href);
}
