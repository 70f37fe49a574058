// Automatic sidecar injection: a Kubernetes mutating admission webhook's decision for one pod, as a
// JSON Patch that adds MeshCart's sidecar (a native sidecar: an init container that keeps running).
import { Type, type Static } from '@sinclair/typebox';

export const INJECT_ANNOTATION = 'meshcart.io/inject';
export const STATUS_ANNOTATION = 'meshcart.io/status';
export const SIDECAR_NAME = 'sidecar';
/** The pod's projected ServiceAccount token: what the sidecar proves its identity with. */
export const TOKEN_VOLUME = 'meshcart-token';
export const TOKEN_DIR = '/var/run/secrets/meshcart';
/** The shortest life Kubernetes allows a projected token; the kubelet renews it at 80 %. */
export const TOKEN_EXPIRATION_SECONDS = 600;

/** What every injected sidecar shares, from the control plane's settings. */
export interface InjectionSettings {
  image: string;
  controlPlaneUrls: string;
  /**
   * The audience of the sidecar's projected ServiceAccount token: the one the control plane
   * verifies (MESH_K8S_TOKEN_AUDIENCE), so a token for anything else is useless to it and this
   * one is useless to anything else.
   */
  tokenAudience: string;
  resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
}

/** Per-pod overrides, as annotations (the sidecar's resources in the spirit of Istio's proxy annotations). */
export const ANNOTATIONS = {
  service: 'meshcart.io/service',
  appPort: 'meshcart.io/app-port',
  appContainer: 'meshcart.io/app-container',
  cpuRequest: 'meshcart.io/proxy-cpu',
  memoryRequest: 'meshcart.io/proxy-memory',
  cpuLimit: 'meshcart.io/proxy-cpu-limit',
  memoryLimit: 'meshcart.io/proxy-memory-limit',
} as const;

// Only the parts of a Pod the injector reads; everything else passes through untouched.
interface PodContainer {
  name: string;
  env?: unknown[];
  ports?: { containerPort: number }[];
}
interface PodSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: PodContainer[]; initContainers?: PodContainer[]; volumes?: unknown[]; serviceAccountName?: string };
}

export const AdmissionReviewBody = Type.Object({
  apiVersion: Type.Literal('admission.k8s.io/v1'),
  kind: Type.Literal('AdmissionReview'),
  request: Type.Object({
    uid: Type.String({ minLength: 1 }),
    kind: Type.Object({ kind: Type.String() }),
    namespace: Type.Optional(Type.String()),
    operation: Type.String(),
    object: Type.Unknown(),
  }),
});
export type AdmissionReview = Static<typeof AdmissionReviewBody>;

export interface PatchOp {
  op: 'add';
  path: string;
  value: unknown;
}

export interface AdmissionResponse {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: { uid: string; allowed: true; patchType?: 'JSONPatch'; patch?: string; warnings?: string[] };
}

/** Thrown for a pod the injector cannot inject (its message becomes the admission warning). */
export class InjectionError extends Error {}

/** RFC 6901: `/` and `~` in a key are escaped in a JSON Pointer. */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * The sidecar container for one pod: the very container deploy/k8s/base lists by hand beside each
 * service (a test applies this webhook's patch to those pods and compares).
 */
export function sidecarContainer(service: string, appPort: number, s: InjectionSettings, resources = s.resources) {
  return {
    name: SIDECAR_NAME,
    image: s.image,
    imagePullPolicy: 'IfNotPresent',
    // A native sidecar: started (and ready) before the app containers, stopped after them.
    restartPolicy: 'Always',
    args: ['sidecar'],
    env: [
      { name: 'MESH_SERVICE', value: service },
      // Registered with the control plane: subsets and splits pick instances by the pod's version label.
      { name: 'POD_VERSION', valueFrom: { fieldRef: { fieldPath: "metadata.labels['version']" } } },
      { name: 'MESH_LABELS', value: 'version=$(POD_VERSION)' },
      { name: 'MESH_INSTANCE', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'APP_PORT', value: String(appPort) },
      // Outbound (15001) stays on loopback for the app; inbound and admin face the network.
      { name: 'HOST', value: '127.0.0.1' },
      { name: 'INBOUND_HOST', value: '0.0.0.0' },
      { name: 'ADMIN_HOST', value: '0.0.0.0' },
      { name: 'ADVERTISE_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'MESH_CONTROL_PLANE_URLS', value: s.controlPlaneUrls },
      // Its identity: the pod's ServiceAccount token, read again for each certificate request.
      { name: 'MESH_JOIN_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
      { name: 'MESH_BOOTSTRAP_FILE', value: '/data/bootstrap.json' },
      { name: 'LOG_LEVEL', value: 'info' },
    ],
    ports: [
      { name: 'mesh', containerPort: 15006 },
      { name: 'mesh-h2c', containerPort: 15008 },
      { name: 'admin', containerPort: 15000 },
    ],
    // Ready = config and mTLS certificate in hand; the app starts only then.
    startupProbe: { httpGet: { path: '/ready', port: 'admin' }, periodSeconds: 2, failureThreshold: 60 },
    readinessProbe: { httpGet: { path: '/ready', port: 'admin' }, periodSeconds: 5, failureThreshold: 2 },
    livenessProbe: { httpGet: { path: '/healthz', port: 'admin' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
    resources,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'sidecar-data', mountPath: '/data' },
      { name: 'sidecar-tmp', mountPath: '/tmp' },
      { name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true },
    ],
  };
}

/**
 * The sidecar's own writable folders (the root filesystem is read-only), and the pod's
 * ServiceAccount token for the mesh's audience, which the kubelet writes and renews.
 */
export function sidecarVolumes(s: InjectionSettings) {
  return [
    { name: 'sidecar-data', emptyDir: { sizeLimit: '16Mi' } },
    { name: 'sidecar-tmp', emptyDir: { sizeLimit: '64Mi' } },
    {
      name: TOKEN_VOLUME,
      projected: {
        sources: [{ serviceAccountToken: { audience: s.tokenAudience, expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } }],
      },
    },
  ];
}

/** The env an app needs to send its calls through the sidecar beside it. */
export const APP_ENV = [
  { name: 'MESH_MODE', value: 'sidecar' },
  { name: 'MESH_OUTBOUND_URL', value: 'http://127.0.0.1:15001' },
];

/** The JSON Patch that injects a pod, or [] when it is not asking for injection or already has it. */
export function injectionPatch(object: unknown, s: InjectionSettings): PatchOp[] {
  if (typeof object !== 'object' || object === null) throw new InjectionError('request.object is not a Pod');
  const pod = object as PodSpec;
  if (!Array.isArray(pod.spec?.containers) || pod.spec.containers.length === 0) throw new InjectionError('the pod has no containers');
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[INJECT_ANNOTATION] !== 'enabled') return [];
  // Injected already (a reinvocation), or listing its sidecar by hand as deploy/k8s/base does.
  if (annotations[STATUS_ANNOTATION] === 'injected' || (pod.spec.initContainers ?? []).some((c) => c.name === SIDECAR_NAME)) return [];

  const labels = pod.metadata?.labels ?? {};
  const service = annotations[ANNOTATIONS.service] ?? labels['app.kubernetes.io/name'] ?? labels['app'];
  if (!service) throw new InjectionError(`no service name: set the ${ANNOTATIONS.service} annotation or the app.kubernetes.io/name label`);
  const appName = annotations[ANNOTATIONS.appContainer];
  const appIndex = appName ? pod.spec.containers.findIndex((c) => c.name === appName) : 0;
  if (appIndex < 0) throw new InjectionError(`${ANNOTATIONS.appContainer} names "${appName}", which is not a container of this pod`);
  // The control plane names the sidecar's identity after the ServiceAccount its token proves, so a
  // pod running as another (the namespace's "default") would get no certificate for this service.
  const serviceAccount = pod.spec.serviceAccountName || 'default';
  if (serviceAccount !== service) {
    throw new InjectionError(
      `the pod runs as ServiceAccount "${serviceAccount}", but its mesh identity is its ServiceAccount's name: run it as ServiceAccount "${service}" (spec.serviceAccountName, created in its namespace), or set ${ANNOTATIONS.service} to "${serviceAccount}"`,
    );
  }
  const app = pod.spec.containers[appIndex]!;
  const portText = annotations[ANNOTATIONS.appPort] ?? (app.ports?.[0] ? String(app.ports[0].containerPort) : undefined);
  const appPort = Number(portText);
  if (!portText || !Number.isInteger(appPort) || appPort < 1 || appPort > 65535) {
    throw new InjectionError(`no app port: set ${ANNOTATIONS.appPort} to 1-65535, or declare a containerPort on container "${app.name}"`);
  }
  const resources = {
    requests: {
      cpu: annotations[ANNOTATIONS.cpuRequest] ?? s.resources.requests.cpu,
      memory: annotations[ANNOTATIONS.memoryRequest] ?? s.resources.requests.memory,
    },
    limits: {
      cpu: annotations[ANNOTATIONS.cpuLimit] ?? s.resources.limits.cpu,
      memory: annotations[ANNOTATIONS.memoryLimit] ?? s.resources.limits.memory,
    },
  };

  const sidecar = sidecarContainer(service, appPort, s, resources);
  const volumes = sidecarVolumes(s);
  const ops: PatchOp[] = [];
  // First among the init containers, so any later init container already has the mesh.
  ops.push(
    pod.spec.initContainers
      ? { op: 'add', path: '/spec/initContainers/0', value: sidecar }
      : { op: 'add', path: '/spec/initContainers', value: [sidecar] },
  );
  if (pod.spec.volumes) for (const v of volumes) ops.push({ op: 'add', path: '/spec/volumes/-', value: v });
  else ops.push({ op: 'add', path: '/spec/volumes', value: volumes });
  const present = new Set((app.env ?? []).map((e) => (e as { name?: string }).name));
  const env = APP_ENV.filter((e) => !present.has(e.name));
  if (!app.env) ops.push({ op: 'add', path: `/spec/containers/${appIndex}/env`, value: env });
  else for (const e of env) ops.push({ op: 'add', path: `/spec/containers/${appIndex}/env/-`, value: e });
  ops.push({ op: 'add', path: `/metadata/annotations/${pointer(STATUS_ANNOTATION)}`, value: 'injected' });
  return ops;
}

/**
 * The webhook's answer. It always allows the pod: a pod the injector cannot handle is admitted
 * unchanged with a warning naming the problem, rather than blocking a rollout.
 */
export function review(req: AdmissionReview, s: InjectionSettings): AdmissionResponse {
  const response: AdmissionResponse['response'] = { uid: req.request.uid, allowed: true };
  if (req.request.kind.kind !== 'Pod' || req.request.operation !== 'CREATE')
    return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
  try {
    const ops = injectionPatch(req.request.object, s);
    if (ops.length) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(ops)).toString('base64');
    }
  } catch (err) {
    if (!(err instanceof InjectionError)) throw err;
    response.warnings = [`meshcart sidecar not injected: ${err.message}`];
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}
