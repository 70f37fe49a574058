// user-service: accounts, password sessions and the JWT key set other services verify tokens with.
import { ErrorResponse, JWKS_PATH, Jwks, LoginBody, RegisterUserBody, Session, User, UserIdParams } from '@meshcart/contracts';
import { HttpError, createServiceApp, notFound, openDatabase, unauthorized, type ServiceAppOptions } from '@meshcart/service-kit';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DEFAULT_SCRYPT_COST, PasswordHasher, type ScryptCost } from './password-hasher';
import { TokenIssuer } from './token-issuer';
import { EmailTakenError, UserStore, userMigrations, type UserRow } from './user-store';

export interface UserServiceOptions {
  /** Folder holding `user-service.db`. */
  dataDir: string;
  logger?: ServiceAppOptions['logger'];
  /** scrypt parameters for new hashes; tests lower N to stay fast. */
  scryptCost?: ScryptCost;
  /** Access token lifetime; one hour by default. */
  tokenTtlSeconds?: number;
}

const SERVICE_NAME = 'user-service';
const INVALID_CREDENTIALS = 'email or password is incorrect';

const toUser = (row: UserRow): User => ({ id: row.id, email: row.email, name: row.name, createdAt: row.created_at });
const normalizeEmail = (email: string) => email.trim().toLowerCase();

export async function buildApp(opts: UserServiceOptions) {
  const app = createServiceApp({ name: SERVICE_NAME, logger: opts.logger });
  const store = new UserStore(openDatabase(join(opts.dataDir, `${SERVICE_NAME}.db`), userMigrations));
  app.addHook('onClose', async () => store.close());
  const hasher = new PasswordHasher(opts.scryptCost ?? DEFAULT_SCRYPT_COST);
  const tokens = await TokenIssuer.load(store, opts.tokenTtlSeconds ?? 3600);

  app.addReadinessCheck('db', () => store.isHealthy());

  app.post(
    '/users',
    { schema: { body: RegisterUserBody, response: { 201: User, 400: ErrorResponse, 409: ErrorResponse } } },
    async (request, reply) => {
      const { email, password, name } = request.body;
      const row: UserRow = {
        id: randomUUID(),
        email: normalizeEmail(email),
        name,
        password_hash: await hasher.hash(password),
        created_at: new Date().toISOString(),
      };
      try {
        store.insertUser(row);
      } catch (err) {
        if (err instanceof EmailTakenError) throw new HttpError(409, 'EMAIL_TAKEN', err.message);
        throw err;
      }
      return reply.code(201).send(toUser(row));
    },
  );

  app.post('/sessions', { schema: { body: LoginBody, response: { 200: Session, 400: ErrorResponse, 401: ErrorResponse } } }, async (request) => {
    const { email, password } = request.body;
    const row = store.findByEmail(normalizeEmail(email));
    const ok = row ? await hasher.verify(password, row.password_hash) : await hasher.burn(password);
    // One code and message for both cases, so the answer does not reveal which emails exist.
    if (!row || !ok) throw new HttpError(401, 'INVALID_CREDENTIALS', INVALID_CREDENTIALS);
    return { token: await tokens.issue(row), tokenType: 'Bearer' as const, expiresIn: tokens.ttlSeconds };
  });

  app.get('/users/me', { schema: { response: { 200: User, 401: ErrorResponse } } }, async (request) => {
    const match = /^Bearer +(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    if (!match) throw unauthorized('an Authorization: Bearer <token> header is required');
    let userId: string;
    try {
      userId = await tokens.verify(match[1]!);
    } catch (err) {
      request.log.debug({ err }, 'rejected access token');
      throw unauthorized('the access token is invalid or expired');
    }
    const row = store.findById(userId);
    if (!row) throw unauthorized('the access token belongs to an account that no longer exists');
    return toUser(row);
  });

  app.get('/users/:id', { schema: { params: UserIdParams, response: { 200: User, 400: ErrorResponse, 404: ErrorResponse } } }, async (request) => {
    const row = store.findById(request.params.id);
    if (!row) throw notFound('USER_NOT_FOUND', `user ${request.params.id} does not exist`);
    return toUser(row);
  });

  app.get(JWKS_PATH, { schema: { response: { 200: Jwks } } }, async (_request, reply) => {
    // The key changes only if the database is replaced; let verifiers cache it for a while.
    void reply.header('cache-control', 'public, max-age=300');
    return tokens.jwks();
  });

  return app;
}
