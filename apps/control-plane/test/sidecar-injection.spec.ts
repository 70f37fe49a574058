import { makeTempDir } from '@meshcart/testing';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { access } from './credentials';
import { buildApp } from '../src/app';
import { injectionPatch, InjectionError, type InjectionSettings } from '../src/sidecar-injector';

const deployDir = join(__dirname, '../../../deploy/mesh');
const k8sBase = join(__dirname, '../../../deploy/k8s/base');
const caDir = makeTempDir('meshcart-injector-ca-');

const SETTINGS: InjectionSettings = {
  image: 'meshcart:local',
  controlPlaneUrls: 'http://control-plane:15010',
  tokenAudience: 'meshcart',
  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
};

type Pod = {
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    containers: { name: string; env?: { name: string; value?: string }[]; ports?: { containerPort: number }[] }[];
    initContainers?: ({ name: string } & Record<string, unknown>)[];
    volumes?: ({ name: string } & Record<string, unknown>)[];
    serviceAccountName?: string;
  };
};

function pod(annotations: Record<string, string> = { 'meshcart.io/inject': 'enabled' }, port = 3004): Pod {
  return {
    metadata: { name: 'payment-service-7d9c-abcde', labels: { 'app.kubernetes.io/name': 'payment-service' }, annotations },
    spec: {
      // As the API server sends it: its ServiceAccount admission has set the name (the identity).
      serviceAccountName: 'payment-service',
      containers: [{ name: 'app', ports: [{ containerPort: port }], env: [{ name: 'PORT', value: String(port) }] }],
    },
  };
}

function admissionReview(object: unknown, uid = 'd3b07384-d9a0-4c1b-8a63-1f1f1c2e0001') {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'meshcart',
      operation: 'CREATE',
      object,
    },
  };
}

describe('sidecar injection webhook (served by the control plane over HTTPS)', () => {
  let app: ReturnType<typeof buildApp>;
  let url = '';
  let trusting: Agent;
  let rootPem = '';

  beforeAll(async () => {
    app = buildApp({
      configDir: deployDir,
      profile: 'optimized',
      caDir: caDir.path,
      ...access,
      logger: false,
      injector: { host: '127.0.0.1', port: 0, dnsNames: ['localhost', 'control-plane.meshcart.svc'], settings: SETTINGS },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    rootPem = await (await request(`http://127.0.0.1:${port}/api/v1/ca`)).body.text();
    // The API server trusts the mesh root through the webhook configuration's caBundle; so does this client.
    trusting = new Agent({ connect: { ca: rootPem } });
    url = `https://localhost:${app.injectorPort}/inject`;
  });

  afterAll(async () => {
    await trusting?.close();
    await app?.close();
    caDir.remove();
  });

  async function post(body: unknown) {
    const res = await request(url, {
      method: 'POST',
      dispatcher: trusting,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.statusCode,
      body: (await res.body.json()) as {
        response: { uid: string; allowed: boolean; patchType?: string; patch?: string; warnings?: string[] };
        error?: { message: string };
      },
    };
  }

  function patched(original: Pod, patch: string | undefined): Pod {
    const ops = JSON.parse(Buffer.from(patch ?? '', 'base64').toString('utf8')) as Operation[];
    return fastJsonPatch.applyPatch(structuredClone(original), ops, true, false).newDocument;
  }

  it('adds the sidecar as a native sidecar, its volumes, its ServiceAccount token and the app env to a pod annotated meshcart.io/inject: enabled', async () => {
    const original = pod();
    const { status, body } = await post(admissionReview(original));
    expect(status).toBe(200);
    expect(body.response).toMatchObject({ uid: 'd3b07384-d9a0-4c1b-8a63-1f1f1c2e0001', allowed: true, patchType: 'JSONPatch' });
    const result = patched(original, body.response.patch);

    const sidecar = result.spec.initContainers![0] as {
      name: string;
      restartPolicy: string;
      image: string;
      args: string[];
      env: { name: string; value?: string; valueFrom?: unknown }[];
      resources: unknown;
      volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
    };
    expect(sidecar).toMatchObject({ name: 'sidecar', restartPolicy: 'Always', image: 'meshcart:local', args: ['sidecar'] });
    const env = Object.fromEntries(sidecar.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      MESH_SERVICE: 'payment-service',
      APP_PORT: '3004',
      MESH_INSTANCE: { fieldRef: { fieldPath: 'metadata.name' } },
      ADVERTISE_HOST: { fieldRef: { fieldPath: 'status.podIP' } },
      MESH_JOIN_TOKEN_FILE: '/var/run/secrets/meshcart/token',
    });
    // No shared secret: the sidecar proves the pod's ServiceAccount with a token of its own audience.
    expect(Object.keys(env)).not.toContain('MESH_BOOTSTRAP_TOKEN');
    expect(JSON.stringify(result)).not.toMatch(/secretKeyRef|bootstrap-token/);
    expect(sidecar.resources).toEqual(SETTINGS.resources);
    expect(result.spec.volumes!.map((v) => v.name)).toEqual(['sidecar-data', 'sidecar-tmp', 'meshcart-token']);
    expect(result.spec.volumes![2]).toEqual({
      name: 'meshcart-token',
      projected: { sources: [{ serviceAccountToken: { audience: 'meshcart', expirationSeconds: 600, path: 'token' } }] },
    });
    expect(sidecar.volumeMounts).toContainEqual({ name: 'meshcart-token', mountPath: '/var/run/secrets/meshcart', readOnly: true });
    // The app does not get the token: only its sidecar speaks for the pod.
    expect(JSON.stringify(result.spec.containers)).not.toContain('meshcart-token');
    expect(result.spec.containers[0]!.env!.map((e) => e.name)).toEqual(['PORT', 'MESH_MODE', 'MESH_OUTBOUND_URL']);
    expect(result.metadata.annotations!['meshcart.io/status']).toBe('injected');
  });

  it("takes a pod's own resource annotations for its sidecar", async () => {
    const original = pod({ 'meshcart.io/inject': 'enabled', 'meshcart.io/proxy-cpu': '250m', 'meshcart.io/proxy-memory-limit': '256Mi' });
    const result = patched(original, (await post(admissionReview(original))).body.response.patch);
    expect((result.spec.initContainers![0] as unknown as { resources: unknown }).resources).toEqual({
      requests: { cpu: '250m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    });
  });

  it('leaves alone a pod without the annotation, and one that already has its sidecar (a reinvocation)', async () => {
    const plain = await post(admissionReview(pod({})));
    expect(plain.body.response).toEqual({ uid: 'd3b07384-d9a0-4c1b-8a63-1f1f1c2e0001', allowed: true });
    const once = patched(pod(), (await post(admissionReview(pod()))).body.response.patch);
    const twice = await post(admissionReview(once));
    expect(twice.body.response.patch).toBeUndefined();
  });

  it('admits a pod it cannot inject unchanged, with a warning that says why', async () => {
    const noPort = pod();
    delete noPort.spec.containers[0]!.ports;
    const { body } = await post(admissionReview(noPort));
    expect(body.response.allowed).toBe(true);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.warnings?.[0]).toMatch(/meshcart\.io\/app-port/);
  });

  it("admits a pod that runs as another ServiceAccount than its service's without a sidecar, naming the ServiceAccount to use", async () => {
    for (const serviceAccountName of ['default', undefined]) {
      const other = pod();
      if (serviceAccountName) other.spec.serviceAccountName = serviceAccountName;
      else delete other.spec.serviceAccountName;
      const { body } = await post(admissionReview(other));
      expect(body.response.allowed).toBe(true);
      expect(body.response.patch).toBeUndefined();
      expect(body.response.warnings?.[0]).toContain('runs as ServiceAccount "default"');
      expect(body.response.warnings?.[0]).toContain('run it as ServiceAccount "payment-service"');
    }
    // Named by the meshcart.io/service annotation, the service is the ServiceAccount's: injected.
    const named = pod({ 'meshcart.io/inject': 'enabled', 'meshcart.io/service': 'checkout' });
    named.spec.serviceAccountName = 'checkout';
    const { body } = await post(admissionReview(named));
    expect(body.response.patch).toBeDefined();
  });

  it("projects the token for the control plane's audience (MESH_K8S_TOKEN_AUDIENCE)", () => {
    const ops = injectionPatch(pod(), { ...SETTINGS, tokenAudience: 'meshcart-prod' });
    const volumes = ops.find((o) => o.path === '/spec/volumes')!.value as { name: string; projected?: unknown }[];
    expect(volumes.find((v) => v.name === 'meshcart-token')!.projected).toEqual({
      sources: [{ serviceAccountToken: { audience: 'meshcart-prod', expirationSeconds: 600, path: 'token' } }],
    });
    expect(() => injectionPatch({ ...pod(), spec: { ...pod().spec, serviceAccountName: 'order-service' } }, SETTINGS)).toThrow(InjectionError);
  });

  it('refuses a malformed AdmissionReview with 400 naming the field', async () => {
    const { status, body } = await post({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { kind: { kind: 'Pod' }, operation: 'CREATE', object: {} },
    });
    expect(status).toBe(400);
    expect(JSON.stringify(body)).toContain('uid');
  });

  it.each(['user-service', 'product-service', 'order-service', 'payment-service'])(
    "gives %s's pod, stripped of its sidecar and annotated for injection, exactly the sidecar deploy/k8s/base lists by hand",
    async (service) => {
      const docs = parseAllDocuments(readFileSync(join(k8sBase, `${service}.yaml`), 'utf8')).map(
        (d) => d.toJS() as { kind: string; spec: { template: Pod } },
      );
      const listed = docs.find((d) => d.kind === 'Deployment')!.spec.template;
      const handWritten = listed.spec.initContainers!.find((c) => c.name === 'sidecar')!;
      // The pod as a team would write it without a mesh: no sidecar, its volumes or its app env.
      const bare: Pod = structuredClone(listed);
      bare.spec.initContainers = bare.spec.initContainers!.filter((c) => c.name !== 'sidecar');
      if (bare.spec.initContainers.length === 0) delete bare.spec.initContainers;
      const injected = (v: { name: string }) => v.name.startsWith('sidecar-') || v.name === 'meshcart-token';
      bare.spec.volumes = bare.spec.volumes!.filter((v) => !injected(v));
      for (const c of bare.spec.containers) c.env = c.env?.filter((e) => e.name !== 'MESH_MODE' && e.name !== 'MESH_OUTBOUND_URL');
      bare.metadata = { ...bare.metadata, name: `${service}-abc12-xyz34`, annotations: { 'meshcart.io/inject': 'enabled' } };

      // The webhook's default resources are the base's (the overlays then set both per profile).
      const result = patched(bare, (await post(admissionReview(bare))).body.response.patch);
      expect(result.spec.initContainers!.find((c) => c.name === 'sidecar')).toEqual(handWritten);
      expect(result.spec.volumes).toEqual(expect.arrayContaining(listed.spec.volumes!.filter(injected)));
      expect(result.spec.volumes).toHaveLength(listed.spec.volumes!.length);
      const appEnv = result.spec.containers[0]!.env!.map((e) => e.name);
      expect(appEnv).toEqual(expect.arrayContaining(['MESH_MODE', 'MESH_OUTBOUND_URL']));
    },
  );

  it('serves a certificate the mesh root signed for the webhook Service name, which a client without that root refuses', async () => {
    const untrusting = new Agent();
    await expect(request(url, { method: 'POST', dispatcher: untrusting, body: '{}' })).rejects.toThrow(/certificate/i);
    await untrusting.close();
    const handshake = (servername: string) =>
      new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: app.injectorPort, servername, ca: rootPem }, () => {
          resolve('trusted');
          socket.end();
        });
        socket.on('error', (err) => resolve(err.message));
      });
    expect(await handshake('control-plane.meshcart.svc')).toBe('trusted');
    expect(await handshake('payment-service.meshcart.svc')).toMatch(/altnames/);
  });
});
