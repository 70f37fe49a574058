// Lab 03: what an mTLS handshake costs with RSA-2048 workload keys against ECDSA P-256 (docs/labs/03-mtls-cost.md).
import type { KeyType, MeshConfig } from '@meshcart/mesh-config';
import { generateKeyPairSync, sign } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { atMost, equals, shown, verdict, type Lab, type Measured } from './lab';
import { grew, type LabMesh } from './lab-mesh';

const ID = '03-mtls-cost';
const KNOB = 'spec.mtls.keyType';
const POOL = 'spec.defaults.policy.connectionPool.maxRequestsPerConnection';

/** What each earlier check measured, by the key type in force then: the learner's before and after. */
interface Notes {
  byKeyType?: Partial<Record<KeyType, { p50Ms: number; meanMs: number; handshakesPerRequest: number }>>;
}

/** The key type of each proxy's workload certificate, as the proxy itself reports it (/config_dump). */
async function keyTypes(mesh: LabMesh): Promise<Map<string, string>> {
  const proxies = (await mesh.proxies()).filter((p) => p.connected && p.adminUrl);
  const types = new Map<string, string>();
  await Promise.all(
    proxies.map(async (p) => {
      try {
        const res = await request(`${p.adminUrl}/config_dump`, { headersTimeout: 3_000 });
        const dump = (await res.body.json()) as { identity?: { keyType?: string } | null };
        types.set(p.instance, dump.identity?.keyType ?? 'no certificate');
      } catch (err) {
        types.set(p.instance, `unreadable (${(err as Error).message})`);
      }
    }),
  );
  return types;
}

/** Proxies renew their certificate when the key type changes, just after the push: waits until every one has. */
async function renewed(mesh: LabMesh, want: string, timeoutMs = 15_000): Promise<Map<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const types = await keyTypes(mesh);
    const behind = [...types].filter(([, t]) => t !== want && t !== 'no certificate');
    if (behind.length === 0 || Date.now() > deadline) return types;
    mesh.progress(`waiting for ${behind.map(([i]) => i).join(', ')} to hold ${want} certificates`);
    await sleep(500);
  }
}

/** What one signature costs on this machine with each key type: each side of a mutual-TLS handshake makes one. */
function signatureMs(): Record<KeyType, number> {
  const data = Buffer.alloc(64, 1);
  const time = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => {
    sign('sha256', data, key);
    const n = 50;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) sign('sha256', data, key);
    return (performance.now() - t0) / n;
  };
  return {
    RSA_2048: time(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey),
    ECDSA_P256: time(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey),
  };
}

/** `RSA_2048 ×7`: how many proxies hold each key type. */
function count(types: Map<string, string>): string {
  const n = new Map<string, number>();
  for (const t of types.values()) n.set(t, (n.get(t) ?? 0) + 1);
  return [...n].map(([t, k]) => `${t} ×${k}`).join(', ');
}

function setKeyType(config: MeshConfig, keyType: KeyType): void {
  config.spec.mtls = { ...config.spec.mtls, keyType };
}

export const mtlsCost: Lab = {
  id: ID,
  title: 'The price of mTLS: RSA-2048 against ECDSA P-256 handshakes',
  minutes: 15,
  needs: 'npm start',

  async start(mesh) {
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    setKeyType(draft, 'RSA_2048');
    draft.spec.mtls!.mode = 'STRICT';
    draft.spec.defaults ??= {};
    draft.spec.defaults.policy ??= {};
    draft.spec.defaults.policy.connectionPool = { ...draft.spec.defaults.policy.connectionPool, maxRequestsPerConnection: 1 };
    await mesh.apply(draft, `meshctl lab start ${ID}`);
    await renewed(mesh, 'RSA_2048');
    return {
      changes: [
        `${KNOB}: RSA_2048 (every proxy makes an RSA key and gets a new certificate)`,
        'spec.mtls.mode: STRICT (every hop between proxies is mTLS)',
        `${POOL}: 1 (no connection reuse: every call handshakes, so the handshake's cost shows in each request)`,
      ],
      config: draft,
    };
  },

  async check(mesh) {
    const notes = mesh.notes as Notes;
    const { config } = await mesh.config();
    const want = config.spec.mtls?.keyType ?? 'ECDSA_P256';
    const types = await renewed(mesh, want);
    const before = await mesh.scrape();
    const traffic = await mesh.traffic({
      seconds: mesh.seconds(8),
      // One caller: each request's latency is its own hops and handshake, not a queue behind others.
      concurrency: 1,
      label: 'browsing the catalog through the gateway',
      next: (i) => ({ path: `/api/products/p-00${(i % 5) + 1}` }),
    });
    const after = await mesh.scrape();
    const perRequest = (n: number) => (traffic.count ? n / traffic.count : 0);
    const handshakes = perRequest(grew(before, after, 'mesh_tls_handshakes_total'));
    const certified = [...types].filter(([, t]) => t === 'RSA_2048' || t === 'ECDSA_P256');
    const rsa = certified.filter(([, t]) => t !== 'ECDSA_P256');
    const mode = config.spec.mtls?.mode ?? 'DISABLE';
    const signing = signatureMs();
    const pool = config.spec.defaults?.policy?.connectionPool?.maxRequestsPerConnection;

    notes.byKeyType = { ...notes.byKeyType, [want]: { p50Ms: traffic.p50Ms, meanMs: traffic.meanMs, handshakesPerRequest: handshakes } };
    const earlier: Measured[] = Object.entries(notes.byKeyType)
      .filter(([k]) => k !== want)
      .flatMap(([k, m]) => [
        shown(`p50 latency with ${k} (an earlier check)`, m.p50Ms, 'ms'),
        shown(`mTLS handshakes per request with ${k} (an earlier check)`, m.handshakesPerRequest),
      ]);
    return verdict(
      [
        equals(KNOB, want, 'ECDSA_P256'),
        atMost('proxies whose workload certificate is not ECDSA_P256', rsa.length, 0, '', 0),
        equals('spec.mtls.mode', mode, 'STRICT'),
        shown('workload certificates (proxies /config_dump)', count(types)),
        shown('mTLS handshakes per request', handshakes),
        shown('upstream connections opened per request', perRequest(grew(before, after, 'mesh_tcp_connections_opened_total'))),
        shown('requests', traffic.count),
        shown('answers by status', JSON.stringify(traffic.byStatus)),
        shown('requests per second', traffic.rps, '', 0),
        shown('p50 latency', traffic.p50Ms, 'ms'),
        shown('mean latency', traffic.meanMs, 'ms'),
        shown('p99 latency', traffic.p99Ms, 'ms'),
        ...earlier,
        shown('one RSA_2048 signature on this machine', signing.RSA_2048, 'ms', 3),
        shown('one ECDSA_P256 signature on this machine', signing.ECDSA_P256, 'ms', 3),
        shown(POOL, String(pool ?? '(unset: 0)')),
      ],
      (m) =>
        m.name === KNOB
          ? `${KNOB} is ${want}: set it to ECDSA_P256 (the proxies then make P-256 keys and renew their certificates)`
          : m.name === 'spec.mtls.mode'
            ? `spec.mtls.mode is ${mode}: keep STRICT; the point is to make mTLS cheaper, not to turn it off`
            : `${rsa.length} of ${certified.length} proxies still present another key type (${rsa.map(([i, t]) => `${i}: ${t}`).join(', ')})` +
              (want === 'ECDSA_P256' ? ': is every proxy connected and ACKed? (meshctl status)' : ''),
    );
  },

  async solve(mesh) {
    await mesh.patch((c) => setKeyType(c, 'ECDSA_P256'), `meshctl lab solve ${ID}`);
    await renewed(mesh, 'ECDSA_P256');
    return [`${KNOB}: ECDSA_P256 (every proxy makes a P-256 key and gets a new certificate; ${POOL} stays 1, so each call still handshakes)`];
  },
};
