// The image's entrypoint. `meshcart <role> [args]` runs one MeshCart process in this container;
// `meshcart healthcheck` (the image's HEALTHCHECK) probes whichever role this container runs.
import { readFileSync, readdirSync } from 'node:fs';
import { ROLES } from './roles';

function usage(): string {
  const width = Math.max(...Object.keys(ROLES).map((r) => r.length));
  const lines = Object.entries(ROLES).map(([name, r]) => `  ${name.padEnd(width)}  ${r.summary}`);
  return `usage: meshcart <role> [args]\n\nroles:\n${lines.join('\n')}\n  ${'healthcheck'.padEnd(width)}  probe this container's role (the image's HEALTHCHECK)`;
}

/** The role this container's main process runs, read from its command line (PID 1, or below an init). */
function runningRole(): string | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p)).sort((a, b) => Number(a) - Number(b))) {
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

const [role, ...rest] = process.argv.slice(2);
if (role === 'healthcheck') {
  process.exit(await healthcheck());
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
