// The files of a new service as `npm run new-service -- <name>` writes them: a small working app in the house style.
//
// The generated service keeps one example resource, an "item" `{ id, productId, note, createdAt }`,
// in its own SQLite table, serves it at /<name> (the gateway's /api/<name>), and checks each new
// item's product with product-service through the mesh: the example call to another service. A
// team that forks it replaces the item with its own resource and keeps the shape.
//
// Contents are plain template literals. They are written to be prettier-clean as they are (the
// workspace .prettierrc: printWidth 150, single quotes, trailing commas), for names of any allowed
// length; app-files.spec.ts checks that with prettier itself.
import type { ServiceNames } from './names';

export interface GeneratedFile {
  /** Workspace-relative, e.g. `apps/review-service/src/app.ts`. */
  path: string;
  content: string;
}

export interface AppFilesOptions {
  /** The port main.ts listens on by default: the service's `port` in deploy/topology.yaml. */
  port: number;
}

/** The workspace .prettierrc's printWidth: how long a generated line may be. */
const PRINT_WIDTH = 150;

/**
 * A named import as prettier prints it: on one line when that fits, else one name per line. Its
 * length depends on the name, so the generator decides rather than the template.
 */
function importFrom(specifiers: readonly string[], from: string, typeOnly = false): string {
  const head = typeOnly ? 'import type' : 'import';
  const line = `${head} { ${specifiers.join(', ')} } from '${from}';`;
  if (line.length <= PRINT_WIDTH) return line;
  return `${head} {\n${specifiers.map((s) => `  ${s},`).join('\n')}\n} from '${from}';`;
}

/** `REVIEW`, `GIFT_CARD`: the prefix of the service's error codes and their constants. */
function upperSnake(n: ServiceNames): string {
  return n.name.replaceAll('-', '_').toUpperCase();
}

/** `review`, `gift card`: how messages and comments speak of it. */
function words(n: ServiceNames): string {
  return n.name.replaceAll('-', ' ');
}

/** The line that makes the contract part of `@meshcart/contracts`: append it to libs/contracts/src/index.ts. */
export function contractsIndexLine(n: ServiceNames): string {
  return `export * from './${n.name}';`;
}

export function appFiles(n: ServiceNames, opts: AppFilesOptions): GeneratedFile[] {
  const src = `${n.dir}/src`;
  return [
    { path: `${n.dir}/project.json`, content: projectJson(n) },
    { path: `${n.dir}/tsconfig.json`, content: tsconfigJson() },
    { path: `${n.dir}/vitest.config.ts`, content: vitestConfig(n) },
    { path: `${src}/main.ts`, content: mainTs(n, opts.port) },
    { path: `${src}/app.ts`, content: appTs(n) },
    { path: `${src}/${n.name}-routes.ts`, content: routesTs(n) },
    { path: `${src}/${n.name}-store.ts`, content: storeTs(n) },
    { path: `${src}/product-lookup.ts`, content: productLookupTs(n) },
    { path: `${src}/${n.name}-store.spec.ts`, content: storeSpecTs(n) },
    { path: `${src}/${n.name}-api.spec.ts`, content: apiSpecTs(n) },
    { path: `${n.dir}/test/${n.name}-through-the-mesh.spec.ts`, content: meshSpecTs(n) },
    { path: n.contractFile, content: contractTs(n) },
  ];
}

function projectJson(n: ServiceNames): string {
  return `{
  "name": "${n.service}",
  "$schema": "../../node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "${n.dir}/src",
  "projectType": "application",
  "tags": ["${n.scope}", "type:app"],
  "targets": {
    "lint": { "command": "eslint .", "options": { "cwd": "{projectRoot}" } },
    "typecheck": { "command": "tsc -p tsconfig.json --noEmit", "options": { "cwd": "{projectRoot}" } },
    "test": { "command": "vitest run", "options": { "cwd": "{projectRoot}" } }
  }
}
`;
}

function tsconfigJson(): string {
  return `{
  "extends": "../../tsconfig.base.json",
  "include": ["src/**/*.ts", "test/**/*.ts", "vitest.config.ts"]
}
`;
}

function vitestConfig(n: ServiceNames): string {
  return `// Vitest for ${n.service}: the workspace's shared settings (path aliases, src and test specs, timeouts).
import { projectConfig } from '../../vitest.shared.ts';

export default projectConfig();
`;
}

function mainTs(n: ServiceNames, port: number): string {
  return `// Starts ${n.service} from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, MESH_*).
import { readServiceEnv } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/service-mesh';
import { buildApp } from './app';

// The port is the one deploy/topology.yaml gives ${n.service}; PORT overrides it.
const env = readServiceEnv('${n.service}', ${port});
// How ${n.service} reaches product-service: its sidecar, the in-process mesh (proxyless) or directly (off).
const mesh = new ServiceMesh(env.mesh);
const app = await buildApp({ dataDir: env.dataDir, mesh: mesh.client, logger: { level: env.logLevel } });
await mesh.run(app, env);
`;
}

function appTs(n: ServiceNames): string {
  // Sorted by path, as the hand-written apps are: where './product-lookup' goes depends on the name.
  const imports: [from: string, name: string][] = [
    [`./${n.name}-routes`, `${n.camel}Routes`],
    [`./${n.name}-store`, `${n.pascal}Store`],
    ['./product-lookup', 'ProductLookup'],
  ];
  const localImports = imports
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([from, name]) => `import { ${name} } from '${from}';`)
    .join('\n');
  return `// ${n.service}: keeps ${words(n)} items in SQLite and checks each new item's product with product-service through the mesh.
//
// Generated by \`npm run new-service\` as a working example: replace the item (contract in
// ${n.contractFile}, table in ${n.name}-store.ts, routes in ${n.name}-routes.ts) with your own
// resource, and ProductLookup with the calls your service makes; keep buildApp's shape.
import { createServiceApp, type MeshClient, type ServiceApp, type ServiceAppOptions } from '@meshcart/service-kit';
import { join } from 'node:path';
${localImports}

export interface BuildAppOptions {
  /** Holds \`${n.service}.db\`. */
  dataDir: string;
  /**
   * How to reach product-service. The app takes ownership and closes it in onClose: main hands it
   * over, and runService closes only the app on shutdown.
   */
  mesh: MeshClient;
  logger?: ServiceAppOptions['logger'];
  /** Longest wait for product-service's answer before the request fails with 503 (default 5 s). */
  productTimeoutMs?: number;
}

const SERVICE_NAME = '${n.service}';

export async function buildApp(opts: BuildAppOptions): Promise<ServiceApp> {
  const app = createServiceApp({ name: SERVICE_NAME, logger: opts.logger });
  const store = ${n.pascal}Store.open(join(opts.dataDir, \`\${SERVICE_NAME}.db\`));
  const products = new ProductLookup({ mesh: opts.mesh, timeoutMs: opts.productTimeoutMs });

  // Ready only while the database answers; the mesh adds its own check when main attaches it.
  app.addReadinessCheck('database', () => store.isHealthy());
  app.addHook('onClose', async () => {
    await opts.mesh.close();
    store.close();
  });

  await app.register(${n.camel}Routes, { store, products });
  return app;
}
`;
}

function routesTs(n: ServiceNames): string {
  const U = upperSnake(n);
  return `// The ${n.path} HTTP API (${n.publicPath} at the gateway): list, read and create ${words(n)} items.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
${importFrom(
  [
    `Create${n.pascal}ItemBody`,
    'ErrorResponse',
    `${U}_ITEM_NOT_FOUND`,
    `${n.pascal}Item`,
    `${n.pascal}ItemList`,
    `${n.pascal}ItemListQuery`,
    `${n.pascal}ItemParams`,
  ],
  '@meshcart/contracts',
)}
import { notFound } from '@meshcart/service-kit';
import type { ${n.pascal}Store } from './${n.name}-store';
import type { ProductLookup } from './product-lookup';

export interface RoutesOptions {
  store: ${n.pascal}Store;
  products: ProductLookup;
}

const DEFAULT_LIMIT = 20;

function itemNotFound(id: string) {
  return notFound(${U}_ITEM_NOT_FOUND, \`${words(n)} item \${id} not found\`);
}

// The schemas come from the contract, so what is validated here is what callers and tests type against.
export const ${n.camel}Routes: FastifyPluginAsyncTypebox<RoutesOptions> = async (app, { store, products }) => {
  app.get(
    '${n.path}',
    {
      schema: {
        querystring: ${n.pascal}ItemListQuery,
        response: { 200: ${n.pascal}ItemList, 400: ErrorResponse },
      },
    },
    async (request) => ({ items: store.list(request.query.limit ?? DEFAULT_LIMIT) }),
  );

  app.get(
    '${n.path}/:id',
    {
      schema: {
        params: ${n.pascal}ItemParams,
        response: { 200: ${n.pascal}Item, 400: ErrorResponse, 404: ErrorResponse },
      },
    },
    async (request) => {
      const item = store.get(request.params.id);
      if (!item) throw itemNotFound(request.params.id);
      return item;
    },
  );

  app.post(
    '${n.path}',
    {
      schema: {
        body: Create${n.pascal}ItemBody,
        response: { 201: ${n.pascal}Item, 400: ErrorResponse, 422: ErrorResponse, 503: ErrorResponse },
      },
    },
    async (request, reply) => {
      // Asked before anything is written: an item never names a product that product-service does not know.
      await products.requireProduct(request.body.productId, request.log);
      return reply.code(201).send(store.insert(request.body));
    },
  );
};
`;
}

function storeTs(n: ServiceNames): string {
  return `// The ${n.table} table: ${words(n)} items in ${n.service}'s own SQLite database, behind prepared statements made once.
${importFrom([`Create${n.pascal}ItemBody`, `${n.pascal}Item`], '@meshcart/contracts', true)}
import { openDatabase, type Migration, type SqliteDatabase } from '@meshcart/service-kit';
import { randomUUID } from 'node:crypto';

/**
 * Applied in order, each once per database file (openDatabase records them). Never edit one that
 * has shipped: change the schema with a new version, e.g. { version: 2, sql: 'ALTER TABLE ...' }.
 */
export const ${n.camel}Migrations: readonly Migration[] = [
  {
    version: 1,
    sql: \`
      CREATE TABLE ${n.table} (
        id TEXT PRIMARY KEY,
        product_id TEXT NOT NULL,
        note TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX ${n.table}_newest_first ON ${n.table} (created_at DESC);
    \`,
  },
];

interface ItemRow {
  id: string;
  product_id: string;
  note: string;
  created_at: string;
}

const fromRow = (row: ItemRow): ${n.pascal}Item => ({
  id: row.id,
  productId: row.product_id,
  note: row.note,
  createdAt: row.created_at,
});

export class ${n.pascal}Store {
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.statements = {
      insert: db.prepare(\`
        INSERT INTO ${n.table} (id, product_id, note, created_at)
        VALUES (@id, @product_id, @note, @created_at)\`),
      byId: db.prepare<[string], ItemRow>('SELECT * FROM ${n.table} WHERE id = ?'),
      // rowid breaks ties between items created in the same millisecond.
      newest: db.prepare<[number], ItemRow>(\`
        SELECT * FROM ${n.table} ORDER BY created_at DESC, rowid DESC LIMIT ?\`),
      ping: db.prepare('SELECT 1 AS ok'),
    };
  }

  /** \`now\` is for tests that need items created at a known time. */
  static open(file: string, now?: () => Date): ${n.pascal}Store {
    return new ${n.pascal}Store(openDatabase(file, ${n.camel}Migrations), now);
  }

  insert(input: Create${n.pascal}ItemBody): ${n.pascal}Item {
    const row: ItemRow = { id: randomUUID(), product_id: input.productId, note: input.note, created_at: this.now().toISOString() };
    this.statements.insert.run(row);
    return fromRow(row);
  }

  get(id: string): ${n.pascal}Item | undefined {
    const row = this.statements.byId.get(id);
    return row ? fromRow(row) : undefined;
  }

  /** Newest first. */
  list(limit: number): ${n.pascal}Item[] {
    return this.statements.newest.all(limit).map(fromRow);
  }

  isHealthy(): boolean {
    return this.db.open && (this.statements.ping.get() as { ok: number } | undefined)?.ok === 1;
  }

  close(): void {
    this.db.close();
  }
}
`;
}

function productLookupTs(n: ServiceNames): string {
  const U = upperSnake(n);
  return `// Asks product-service, through the mesh, whether a product exists: ${n.service}'s example call to another service.
//
// The pattern to keep when you replace it: call by service name through the MeshClient (the
// sidecar, the in-process mesh or, with the mesh off, the address in MESH_UPSTREAMS finds it),
// bound the wait, and turn every answer into either a result or an HttpError with a stable code.
// Each service called must also be in deploy/topology.yaml (calls) and allowed by the mesh profiles.
import { ${U}_DEPENDENCY_UNAVAILABLE, UNKNOWN_PRODUCT } from '@meshcart/contracts';
import { HttpError, MeshCallError, type MeshClient } from '@meshcart/service-kit';
import type { FastifyBaseLogger } from 'fastify';

export const PRODUCT_SERVICE = 'product-service';
/** product-service's code for a product it does not have (not in the contracts). */
const PRODUCT_NOT_FOUND = 'PRODUCT_NOT_FOUND';

export interface ProductLookupOptions {
  mesh: MeshClient;
  /** Longest wait for an answer (default 5 s, the mesh profiles' own timeout). */
  timeoutMs?: number;
}

function codeOf(body: unknown): string | undefined {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Not the caller's fault and maybe over in a moment: 503 with Retry-After. */
function unavailable(message: string): HttpError {
  return new HttpError(503, ${U}_DEPENDENCY_UNAVAILABLE, message, undefined, { 'retry-after': '1' });
}

export class ProductLookup {
  private readonly mesh: MeshClient;
  private readonly timeoutMs: number;

  constructor(options: ProductLookupOptions) {
    this.mesh = options.mesh;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** Resolves when product-service has the product; throws 422 UNKNOWN_PRODUCT, or 503 when it cannot be asked. */
  async requireProduct(productId: string, log: FastifyBaseLogger): Promise<void> {
    let reply;
    try {
      reply = await this.mesh.request(PRODUCT_SERVICE, {
        method: 'GET',
        path: \`/products/\${encodeURIComponent(productId)}\`,
        timeoutMs: this.timeoutMs,
      });
    } catch (err) {
      // No HTTP answer at all (refused, reset, timed out): the socket error stays in the log.
      if (!(err instanceof MeshCallError)) throw err;
      log.warn({ err, productId }, 'product lookup: product-service did not answer');
      throw unavailable(\`cannot check product \${productId} now: \${PRODUCT_SERVICE} did not answer\`);
    }
    if (reply.statusCode === 200) return;
    if (reply.statusCode === 404 && codeOf(reply.body) === PRODUCT_NOT_FOUND) {
      throw new HttpError(422, UNKNOWN_PRODUCT, \`product \${productId} does not exist at \${PRODUCT_SERVICE}\`);
    }
    // A 5xx, or an answer from the mesh itself such as 403 MESH_ERR_FORBIDDEN (an authorization rule
    // missing from deploy/mesh): the status and code are in the message, so they are easy to find.
    const code = codeOf(reply.body);
    log.warn({ productId, statusCode: reply.statusCode, code }, 'product lookup: unexpected answer from product-service');
    throw unavailable(\`cannot check product \${productId} now: \${PRODUCT_SERVICE} answered \${reply.statusCode}\${code ? \` \${code}\` : ''}\`);
  }
}
`;
}

function contractTs(n: ServiceNames): string {
  const U = upperSnake(n);
  return `// ${n.service} API: ${words(n)} items, the generated example resource; each names a product that product-service has.
//
// Replace the example fields (productId, note) with your resource's, here first: the app validates
// its routes with these schemas and its tests type their answers with the same Static types.
import { Type, type Static } from '@sinclair/typebox';
import { Id } from './common';

export const ${n.pascal}Item = Type.Object({ id: Id, productId: Id, note: Type.String(), createdAt: Type.String() });
export type ${n.pascal}Item = Static<typeof ${n.pascal}Item>;

/** GET ${n.path}: newest first. */
export const ${n.pascal}ItemList = Type.Object({ items: Type.Array(${n.pascal}Item) });
export type ${n.pascal}ItemList = Static<typeof ${n.pascal}ItemList>;

export const ${n.pascal}ItemListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  },
  { additionalProperties: false },
);
export type ${n.pascal}ItemListQuery = Static<typeof ${n.pascal}ItemListQuery>;

export const ${n.pascal}ItemParams = Type.Object({ id: Id });
export type ${n.pascal}ItemParams = Static<typeof ${n.pascal}ItemParams>;

/** POST ${n.path}: the product must exist at product-service, else 422 UNKNOWN_PRODUCT (see ./product). */
export const Create${n.pascal}ItemBody = Type.Object(
  {
    productId: Id,
    note: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export type Create${n.pascal}ItemBody = Static<typeof Create${n.pascal}ItemBody>;

/** Error codes ${n.service} answers with (in the error envelope), besides UNKNOWN_PRODUCT and VALIDATION_FAILED. */
export const ${U}_ITEM_NOT_FOUND = '${U}_ITEM_NOT_FOUND';
/** 503: product-service could not be asked (no answer, a 5xx, or the mesh refused the call). */
export const ${U}_DEPENDENCY_UNAVAILABLE = '${U}_DEPENDENCY_UNAVAILABLE';
`;
}

function storeSpecTs(n: ServiceNames): string {
  return `// The store lists ${words(n)} items newest first within the limit, and its migrations apply once per database file.
import { makeTempDir } from '@meshcart/testing';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ${n.pascal}Store } from './${n.name}-store';

let dir: ReturnType<typeof makeTempDir>;
let file: string;
let now: Date;
let store: ${n.pascal}Store;

beforeEach(() => {
  dir = makeTempDir('${n.name}-store-');
  file = join(dir.path, '${n.service}.db');
  now = new Date('2030-01-01T00:00:00.000Z');
  store = ${n.pascal}Store.open(file, () => now);
});

afterEach(() => {
  store.close();
  dir.remove();
});

describe('${n.pascal}Store', () => {
  it('stores an item and reads it back by id', () => {
    const item = store.insert({ productId: 'p-001', note: 'first' });
    expect(item).toEqual({ id: expect.any(String), productId: 'p-001', note: 'first', createdAt: '2030-01-01T00:00:00.000Z' });
    expect(store.get(item.id)).toEqual(item);
    expect(store.get('no-such-id')).toBeUndefined();
  });

  it('lists newest first, items of the same millisecond in reverse order of creation, at most limit', () => {
    const a = store.insert({ productId: 'p-001', note: 'a' });
    now = new Date('2030-01-01T00:00:01.000Z');
    const b = store.insert({ productId: 'p-002', note: 'b' });
    const c = store.insert({ productId: 'p-003', note: 'c' });
    expect(store.list(10).map((i) => i.id)).toEqual([c.id, b.id, a.id]);
    expect(store.list(2).map((i) => i.id)).toEqual([c.id, b.id]);
  });

  it('keeps its items when the database is opened again, without applying a migration twice', () => {
    const item = store.insert({ productId: 'p-001', note: 'kept' });
    store.close();
    store = ${n.pascal}Store.open(file);
    expect(store.get(item.id)).toEqual(item);
    expect(store.isHealthy()).toBe(true);
  });
});
`;
}

function apiSpecTs(n: ServiceNames): string {
  const U = upperSnake(n);
  return `// ${n.service}'s API through app.inject, against a real product-service process (mesh off): list, create, read and every error.
${importFrom(
  [
    `${U}_DEPENDENCY_UNAVAILABLE`,
    `${U}_ITEM_NOT_FOUND`,
    'UNKNOWN_PRODUCT',
    `type Create${n.pascal}ItemBody`,
    'type ErrorResponse',
    `type ${n.pascal}Item`,
    `type ${n.pascal}ItemList`,
  ],
  '@meshcart/contracts',
)}
import { MeshClient, type ServiceApp } from '@meshcart/service-kit';
import { makeTempDir, startRecordingServer, startServiceProcess, type RecordingServer, type StartedService } from '@meshcart/testing';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';

/** In product-service's sample catalog (p-001 … p-072); p-999 is not. */
const KNOWN_PRODUCT = 'p-003';
const UNKNOWN = 'p-999';

let productData: ReturnType<typeof makeTempDir>;
let products: StartedService;
const dirs: ReturnType<typeof makeTempDir>[] = [];
const apps: ServiceApp[] = [];
let app: ServiceApp;

/** A fresh ${n.service} with its own database, calling product-service at \`productServiceUrl\` (the mesh off). */
async function ${n.camel}Service(productServiceUrl: string): Promise<ServiceApp> {
  const dir = makeTempDir('${n.service}-');
  dirs.push(dir);
  const built = await buildApp({
    dataDir: dir.path,
    mesh: new MeshClient({
      service: '${n.service}',
      mode: 'off',
      upstreams: { 'product-service': productServiceUrl },
    }),
    logger: false,
    productTimeoutMs: 2_000,
  });
  apps.push(built);
  return built;
}

beforeAll(async () => {
  productData = makeTempDir('product-service-');
  products = await startServiceProcess('product-service', 'apps/product-service/src/main.ts', { DATA_DIR: productData.path, MESH_MODE: 'off' });
});

afterAll(async () => {
  await products?.stop();
  productData?.remove();
});

beforeEach(async () => {
  app = await ${n.camel}Service(products.url);
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
  for (const dir of dirs.splice(0)) dir.remove();
});

function create(target: ServiceApp, payload: unknown) {
  return target.inject({ method: 'POST', url: '${n.path}', payload: payload as object });
}

async function list(target: ServiceApp): Promise<${n.pascal}Item[]> {
  const res = await target.inject({ url: '${n.path}' });
  return res.json<${n.pascal}ItemList>().items;
}

describe('${n.path}', () => {
  it('lists nothing before any item is created', async () => {
    const res = await app.inject({ url: '${n.path}' });
    expect(res.statusCode).toBe(200);
    expect(res.json<${n.pascal}ItemList>()).toEqual({ items: [] });
  });

  it('creates an item for a product that product-service has, then lists it and reads it by id', async () => {
    const body: Create${n.pascal}ItemBody = { productId: KNOWN_PRODUCT, note: 'Sturdy, and quieter than expected' };
    const res = await create(app, body);
    expect(res.statusCode).toBe(201);
    const item = res.json<${n.pascal}Item>();
    expect(item).toEqual({ id: expect.any(String), ...body, createdAt: expect.any(String) });

    expect(await list(app)).toEqual([item]);
    const one = await app.inject({ url: \`${n.path}/\${item.id}\` });
    expect(one.statusCode).toBe(200);
    expect(one.json<${n.pascal}Item>()).toEqual(item);
  });

  it('lists newest first and at most \`limit\` items', async () => {
    const ids: string[] = [];
    for (const note of ['one', 'two', 'three']) {
      const created = await create(app, { productId: KNOWN_PRODUCT, note });
      ids.push(created.json<${n.pascal}Item>().id);
    }
    const res = await app.inject({ url: '${n.path}?limit=2' });
    expect(res.statusCode).toBe(200);
    expect(res.json<${n.pascal}ItemList>().items.map((i) => i.id)).toEqual([ids[2], ids[1]]);
  });

  it.each([
    ['a missing productId', { note: 'no product' }, '/productId'],
    ['a productId that is not an id', { productId: 'p 003', note: 'spaces' }, '/productId'],
    ['an empty note', { productId: KNOWN_PRODUCT, note: '' }, '/note'],
    ['a note over 500 characters', { productId: KNOWN_PRODUCT, note: 'x'.repeat(501) }, '/note'],
    ['an unexpected field', { productId: KNOWN_PRODUCT, note: 'ok', rating: 5 }, '/rating'],
  ])('answers 400 VALIDATION_FAILED naming the field for %s, and stores nothing', async (_label, payload, path) => {
    const res = await create(app, payload);
    expect(res.statusCode).toBe(400);
    const { error } = res.json<ErrorResponse>();
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details?.map((d) => d.path)).toContain(path);
    expect(await list(app)).toEqual([]);
  });

  it('answers 400 naming limit when it is out of bounds', async () => {
    for (const limit of [0, 101]) {
      const res = await app.inject({ url: \`${n.path}?limit=\${limit}\` });
      expect(res.statusCode).toBe(400);
      expect(res.json<ErrorResponse>().error.details).toContainEqual(expect.objectContaining({ path: '/limit', in: 'querystring' }));
    }
  });

  it('answers 404 ${U}_ITEM_NOT_FOUND for an id it does not have', async () => {
    const res = await app.inject({ url: '${n.path}/no-such-item' });
    expect(res.statusCode).toBe(404);
    expect(res.json<ErrorResponse>().error.code).toBe(${U}_ITEM_NOT_FOUND);
  });

  it('answers 422 UNKNOWN_PRODUCT for a product that product-service does not have, and stores nothing', async () => {
    const res = await create(app, { productId: UNKNOWN, note: 'for nothing' });
    expect(res.statusCode).toBe(422);
    const { error } = res.json<ErrorResponse>();
    expect(error.code).toBe(UNKNOWN_PRODUCT);
    expect(error.message).toContain(UNKNOWN);
    expect(await list(app)).toEqual([]);
  });

  it('reports ready while its database answers', async () => {
    const res = await app.inject({ url: '/readyz' });
    expect(res.statusCode).toBe(200);
  });
});

describe('when product-service cannot answer', () => {
  let stub: RecordingServer | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it('answers 503 ${U}_DEPENDENCY_UNAVAILABLE when nothing listens there, stores nothing, and still serves reads', async () => {
    // A port that was free a moment ago: connecting to it is refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const cutOff = await ${n.camel}Service(\`http://127.0.0.1:\${port}\`);

    const res = await create(cutOff, { productId: KNOWN_PRODUCT, note: 'while it is down' });
    expect(res.statusCode).toBe(503);
    expect(res.json<ErrorResponse>().error.code).toBe(${U}_DEPENDENCY_UNAVAILABLE);
    expect(res.headers['retry-after']).toBe('1');
    expect(await list(cutOff)).toEqual([]);
  });

  it.each([
    [500, 'INTERNAL'],
    [403, 'MESH_ERR_FORBIDDEN'],
  ])('answers 503 naming the status when product-service (or the mesh) answers %i %s', async (status, code) => {
    // A stand-in server where product-service would be, answering as product-service or the mesh can.
    stub = await startRecordingServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code, message: 'stand-in answer' } }));
    });
    const res = await create(await ${n.camel}Service(stub.url), { productId: KNOWN_PRODUCT, note: 'unlucky' });
    expect(res.statusCode).toBe(503);
    const { error } = res.json<ErrorResponse>();
    expect(error.code).toBe(${U}_DEPENDENCY_UNAVAILABLE);
    expect(error.message).toContain(\`\${status} \${code}\`);
    expect(stub.requests.map((r) => \`\${r.method} \${r.url}\`)).toEqual([\`GET /products/\${KNOWN_PRODUCT}\`]);
  });
});
`;
}

function meshSpecTs(n: ServiceNames): string {
  return `// One request through the real mesh: the gateway routes ${n.publicPath} to ${n.service}, whose sidecar carries its call to product-service.
//
// LocalMesh runs every instance of deploy/topology.yaml, each beside its sidecar, with the optimized
// profile: STRICT mTLS and default-deny authorization. So this passes only when the topology, the
// edge route and the authorization rules for ${n.service} are all in place.
${importFrom(['ErrorResponse', `${n.pascal}Item`, `${n.pascal}ItemList`], '@meshcart/contracts', true)}
import { INSTANCES, LocalMesh, ephemeralPlan } from '@meshcart/mesh-launcher';
import { makeTempDir } from '@meshcart/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let mesh: LocalMesh;
const dir = makeTempDir('${n.service}-mesh-');

beforeAll(async () => {
  mesh = await LocalMesh.start({
    plan: await ephemeralPlan('127.0.0.1'),
    dataDir: dir.path,
    profile: 'optimized',
    mode: 'sidecar',
    logLevel: 'warn',
  });
}, 180_000);

afterAll(async () => {
  await mesh?.stop();
  dir.remove();
}, 60_000);

async function call<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(\`\${mesh.gatewayUrl}\${path}\`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Sums a counter's samples, over the sidecars of every ${n.service} instance, whose labels include all of \`labels\`. */
async function counter(name: string, labels: Record<string, string>): Promise<number> {
  let sum = 0;
  for (const { instance } of INSTANCES.filter((i) => i.service === '${n.service}')) {
    const text = await (await fetch(\`\${mesh.sidecarAdminUrls[instance]}/metrics\`)).text();
    sum += text
      .split('\\n')
      .filter((l) => l.startsWith(\`\${name}{\`) && Object.entries(labels).every(([k, v]) => l.includes(\`\${k}="\${v}"\`)))
      .reduce((total, l) => total + Number(l.split(' ').pop()), 0);
  }
  return sum;
}

describe('${n.service} through the mesh', () => {
  it('creates an item through the gateway after asking product-service over the mesh, then lists and reads it', async () => {
    const outbound = { direction: 'outbound', src_service: '${n.service}', dst_service: 'product-service' };
    const before = await counter('mesh_requests_total', outbound);

    const body = { productId: 'p-003', note: 'through the mesh' };
    const created = await call<${n.pascal}Item>('${n.publicPath}', body);
    // On failure the body says why, e.g. "product-service answered 403 MESH_ERR_FORBIDDEN": a missing authorization rule.
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject(body);

    const listed = await call<${n.pascal}ItemList>('${n.publicPath}');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([created.body]);
    const one = await call<${n.pascal}Item>(\`${n.publicPath}/\${created.body.id}\`);
    expect(one.body).toEqual(created.body);

    // The product check left through ${n.service}'s sidecar, which counted it.
    expect(await counter('mesh_requests_total', outbound)).toBeGreaterThan(before);
  });

  it('answers 422 UNKNOWN_PRODUCT through the gateway for a product that product-service does not have', async () => {
    const res = await call<ErrorResponse>('${n.publicPath}', { productId: 'p-999', note: 'no such product' });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.code).toBe('UNKNOWN_PRODUCT');
  });
});
`;
}
