import * as x509 from '@peculiar/x509';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { find, render } from './render';

x509.cryptoProvider.set(webcrypto as never);

const docs = readFileSync(new URL('../../../docs/kubernetes.md', import.meta.url), 'utf8');

/** A command from docs/kubernetes.md that starts with `prefix`, its continuation lines joined. */
function documented(prefix: string): string {
  const lines = docs.split('\n').map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith(prefix));
  if (start < 0) throw new Error(`docs/kubernetes.md has no command starting "${prefix}"`);
  let command = '';
  for (let i = start; i < lines.length; i++) {
    command += lines[i]!.replace(/\\$/, ' ');
    if (!lines[i]!.endsWith('\\')) break;
  }
  return command;
}

const der = (pem: string) => Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');

describe('the CA Secret made as docs/kubernetes.md says', () => {
  it('holds a P-256 PKCS#8 key and the CA certificate it signs for, as the control plane loads them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshcart-ca-'));
    try {
      const run = spawnSync('sh', ['-c', documented('openssl req -x509')], { cwd: dir, encoding: 'utf8' });
      if (run.error || run.status === 127)
        throw new Error('openssl is not installed or not on PATH: this test runs the documented `openssl req` command');
      expect(run.status, run.stderr).toBe(0);
      const keyPem = readFileSync(join(dir, 'ca-key.pem'), 'utf8');
      expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      // What CertificateAuthority.loadOrCreate does with the files (apps/control-plane).
      const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
      const key = await webcrypto.subtle.importKey('pkcs8', der(keyPem), alg, false, ['sign']);
      const cert = new x509.X509Certificate(readFileSync(join(dir, 'ca-cert.pem'), 'utf8'));
      expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
      expect(cert.subject).toContain('O=meshcart.local');
      const data = Buffer.from('workload certificate');
      const signature = await webcrypto.subtle.sign(alg, key, data);
      const publicKey = await cert.publicKey.export(alg, ['verify'], webcrypto as never);
      expect(await webcrypto.subtle.verify(alg, publicKey as never, signature, data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('and the operator token Secret are the Secrets the manifests use, under the names and keys documented, and no other', () => {
    const objects = render('overlays/optimized');
    const volume = find(objects, 'Deployment', 'control-plane').spec.template.spec.volumes.find((v: { secret?: unknown }) => v.secret);
    expect(volume.secret.secretName).toBe('meshcart-ca');
    expect(volume.secret.optional ?? false).toBe(false);
    expect(documented(`kubectl -n meshcart create secret generic ${volume.secret.secretName}`)).toContain(
      '--from-file=ca-key.pem --from-file=ca-cert.pem',
    );
    // Every Secret any pod reads, by env or volume, and where.
    const used = new Map<string, string[]>();
    const use = (secret: string, where: string) => used.set(secret, [...(used.get(secret) ?? []), where]);
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const spec = d.spec.template.spec;
      for (const v of spec.volumes ?? []) if (v.secret) use(v.secret.secretName, `${d.metadata.name} volume ${v.name}`);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) use(ref.name, `${d.metadata.name}/${c.name} ${e.name} (key ${ref.key})`);
        }
        for (const e of c.envFrom ?? []) if (e.secretRef) use(e.secretRef.name, `${d.metadata.name}/${c.name} envFrom`);
      }
    }
    // The operators' credential reaches the control plane alone; workloads hold no shared secret.
    expect(Object.fromEntries(used)).toEqual({
      'meshcart-ca': ['control-plane volume ca'],
      'meshcart-operator-token': ['control-plane/control-plane MESH_OPERATOR_TOKEN (key token)'],
    });
    expect(documented('kubectl -n meshcart create secret generic meshcart-operator-token')).toMatch(/--from-literal=token="\$\(openssl rand /);
    // And the docs create exactly these Secrets.
    const created = [...docs.matchAll(/kubectl -n meshcart create secret generic ([a-z0-9-]+)/g)].map((m) => m[1]);
    expect(created.sort()).toEqual([...used.keys()].sort());
  });
});
