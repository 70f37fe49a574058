// The control plane's HTTP API as meshctl uses it, with errors that say what the control plane said.
import type { ContractCheck } from '@meshcart/control-plane-api';
import type { Static, TSchema } from '@sinclair/typebox';
import { request } from 'undici';
import type { FoundToken } from './operator-token';

export class ApiError extends Error {}

export class ControlPlaneApi {
  /** `token`: the operator credential, sent with every call (a control plane may lock reads too). */
  constructor(
    readonly baseUrl: string,
    private readonly token: FoundToken = { from: 'not looked for' },
  ) {}

  /** `reply` is the answer's schema in the contract: an answer meshctl cannot read is an error, not a half-printed table. */
  async call<T extends TSchema>(
    method: 'GET' | 'PUT' | 'DELETE' | 'POST',
    path: string,
    reply: ContractCheck<T>,
    body?: unknown,
  ): Promise<Static<T>> {
    let res;
    try {
      res = await request(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.token.token ? { authorization: `Bearer ${this.token.token}` } : {}),
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        headersTimeout: 5_000,
      });
    } catch (err) {
      throw new ApiError(
        `cannot reach the control plane at ${this.baseUrl} (${(err as Error).message}); is the mesh running (npm start)? Set --control-plane or MESHCTL_CONTROL_PLANE.`,
      );
    }
    const text = await res.body.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (res.statusCode >= 400) {
      const e = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      // A refusal says which credential meshctl sent, or where it looked for one.
      const hint = res.statusCode === 401 ? `\n  operator credential: ${this.token.token ? `from ${this.token.from}` : this.token.from}` : '';
      throw new ApiError(`${e?.code ?? res.statusCode}: ${e?.message ?? text}${hint}`);
    }
    try {
      return reply.verify(parsed, `the answer to ${method} ${path}`);
    } catch (err) {
      throw new ApiError((err as Error).message);
    }
  }
}
