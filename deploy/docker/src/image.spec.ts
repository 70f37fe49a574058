import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { externalPackages, packageName } from './build-image-tree';
import { ROLES } from './roles';

const root = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

/** Runs the image's entrypoint from source, as `meshcart ARGS` would in a container. */
async function meshcart(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'deploy/docker/src/meshcart.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the image tree', () => {
  it('names the npm package of every import specifier, scoped or not', () => {
    expect(packageName('undici')).toBe('undici');
    expect(packageName('pino/file')).toBe('pino');
    expect(packageName('@peculiar/x509')).toBe('@peculiar/x509');
    expect(packageName('@fastify/http-proxy/lib/x.js')).toBe('@fastify/http-proxy');
  });

  it("keeps only npm packages among a build's imports, without Node's own modules", () => {
    const meta = {
      inputs: {},
      outputs: {
        'a.js': {
          imports: [
            { path: 'node:fs', kind: 'import-statement', external: true },
            { path: 'undici', kind: 'import-statement', external: true },
            { path: 'chunks/x.js', kind: 'import-statement' },
          ],
          exports: [],
          bytes: 1,
          inputs: {},
        },
        'b.js': {
          imports: [
            { path: 'crypto', kind: 'import-statement', external: true },
            { path: '@sinclair/typebox/value', kind: 'import-statement', external: true },
          ],
          exports: [],
          bytes: 1,
          inputs: {},
        },
      },
    } as unknown as Metafile;
    expect(externalPackages(meta)).toEqual(['@sinclair/typebox', 'undici']);
  });

  it('has a role for every app with an entry point, and every role entry exists', () => {
    const apps = readdirSync(resolve(root, 'apps')).filter((a) => a !== 'local-mesh' && existsSync(resolve(root, 'apps', a, 'src/main.ts')));
    const entries = Object.values(ROLES).map((r) => r.entry);
    for (const app of apps) expect(entries).toContain(`apps/${app}/src/main.ts`);
    for (const entry of entries) expect(existsSync(resolve(root, entry)), entry).toBe(true);
  });
});

describe('the entrypoint', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));
  const seen: string[] = [];
  async function answering(status: number): Promise<string> {
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(status).end('state');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}/readyz`;
  }

  it('lists the roles, and refuses an unknown one with exit code 2', async () => {
    const help = await meshcart([]);
    expect(help.code).toBe(0);
    for (const role of Object.keys(ROLES)) expect(help.stdout).toContain(role);
    const bad = await meshcart(['shop']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown role "shop"');
  });

  it('healthcheck: 0 when the probed URL answers 2xx, 1 when it answers 503 or nothing', async () => {
    expect((await meshcart(['healthcheck'], { HEALTHCHECK_URL: await answering(200) })).code).toBe(0);
    const unready = await meshcart(['healthcheck'], { HEALTHCHECK_URL: await answering(503) });
    expect(unready.code).toBe(1);
    expect(unready.stderr).toContain('answered 503');
    expect((await meshcart(['healthcheck'], { HEALTHCHECK_URL: 'http://127.0.0.1:9/readyz' })).code).toBe(1);
  });

  it('drain: POSTs /drain to the sidecar admin, waits MESH_DRAIN_SECONDS, and says why when it cannot', async () => {
    const admin = (await answering(200)).replace('/readyz', '');
    seen.length = 0;
    const started = Date.now();
    const ok = await meshcart(['drain'], { SIDECAR_ADMIN_URL: admin, MESH_DRAIN_SECONDS: '1' });
    expect(ok.code).toBe(0);
    expect(seen).toEqual(['POST /drain']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(ok.stdout).toContain('waiting 1 s');
    const refused = await meshcart(['drain'], { SIDECAR_ADMIN_URL: (await answering(403)).replace('/readyz', ''), MESH_DRAIN_SECONDS: '0' });
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('answered 403') });
    expect((await meshcart(['drain'], { SIDECAR_ADMIN_URL: 'http://127.0.0.1:9', MESH_DRAIN_SECONDS: '0' })).code).toBe(1);
    const bad = await meshcart(['drain'], { MESH_DRAIN_SECONDS: 'soon' });
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('MESH_DRAIN_SECONDS="soon" is invalid') });
  });
});
