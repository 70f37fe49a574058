// What a new service is called everywhere: its folder, Nx project, scope tag, contract and public path.

/** Lowercase words joined by single hyphens, starting with a letter: a DNS label once `-service-sidecar` is added. */
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
/** `<name>-service-<n>-sidecar` must stay a valid DNS label (63 characters) in compose and Kubernetes. */
export const MAX_NAME_LENGTH = 40;

/** Names that are already a process of the mesh or a folder the generator would collide with. */
const RESERVED = new Set([
  'common',
  'index',
  'gateway',
  'control-plane',
  'control',
  'sidecar',
  'meshctl',
  'local-mesh',
  'load',
  'mesh',
  'api',
  'health',
]);

export interface ServiceNames {
  /** As given: `review`, `gift-card`. The public path is `/api/<name>`. */
  name: string;
  /** `review-service`: the topology entry, the Nx project, the SPIFFE service account. */
  service: string;
  /** `apps/review-service`. */
  dir: string;
  /** `Review`, `GiftCard`: type and class names. */
  pascal: string;
  /** `review`, `giftCard`: variable names. */
  camel: string;
  /** `review_items`, `gift_card_items`: the SQLite table. */
  table: string;
  /** `scope:review`: the Nx tag its lint boundary rule is keyed on. */
  scope: string;
  /** `libs/contracts/src/review.ts`. */
  contractFile: string;
  /** `/review` on the service; `/api/review` through the gateway. */
  path: string;
  publicPath: string;
}

/** Why a name cannot be used, in a sentence that says what is allowed; undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (!name) return 'a name is required, for example `npm run new-service -- review`';
  if (name.endsWith('-service') || name === 'service')
    return `give the name without "-service": "${name.replace(/-?service$/, '') || 'review'}" becomes ${name.replace(/-?service$/, '') || 'review'}-service`;
  if (!NAME.test(name))
    return `"${name}" is not allowed: use lowercase letters and digits, words joined by single hyphens, starting with a letter (for example review or gift-card)`;
  if (name.length > MAX_NAME_LENGTH)
    return `"${name}" is ${name.length} characters; at most ${MAX_NAME_LENGTH} are allowed (container and pod names must stay DNS labels)`;
  if (RESERVED.has(name)) return `"${name}" is reserved (${[...RESERVED].join(', ')}); choose another name`;
  return undefined;
}

export function namesOf(name: string): ServiceNames {
  const words = name.split('-');
  const pascal = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return {
    name,
    service: `${name}-service`,
    dir: `apps/${name}-service`,
    pascal,
    camel: pascal[0]!.toLowerCase() + pascal.slice(1),
    table: `${words.join('_')}_items`,
    scope: `scope:${name}`,
    contractFile: `libs/contracts/src/${name}.ts`,
    path: `/${name}`,
    publicPath: `/api/${name}`,
  };
}
