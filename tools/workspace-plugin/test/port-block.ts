// A block of 100 free loopback ports for `npm start -- --port-base`, in 10000–11999: no other test's fixed base is there, and
// the test meshes' random ports (30000–32767) are too many for a free run of 100. Reserved the way they reserve theirs (libs/mesh-launcher).
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RESERVATIONS = join(tmpdir(), 'meshcart-test-ports');
const RESERVATION_MS = 120_000;

function reserve(port: number): boolean {
  mkdirSync(RESERVATIONS, { recursive: true });
  const file = join(RESERVATIONS, String(port));
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    return Date.now() - statSync(file).mtimeMs > RESERVATION_MS;
  }
}

const free = (port: number) =>
  new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A base B such that B … B+99 are free and reserved: instances use B+10n…B+10n+4, the rest go to the gateway and control plane. */
export async function freePortBlock(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 10_000 + 100 * Math.floor(Math.random() * 20);
    const ports = Array.from({ length: 100 }, (_, i) => base + i);
    if (!ports.every(reserve)) continue;
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
  }
  throw new Error('no block of 100 free ports in 10000-11999 after 50 tries');
}
