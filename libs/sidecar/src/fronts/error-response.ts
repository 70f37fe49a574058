// The one rendering of a mesh failure as an HTTP answer: its status, a JSON body with a stable code, and x-meshcart-error.
import { MeshError } from '../core/errors';

export interface ErrorAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Any error: a MeshError with its own status, code and headers (Retry-After); anything else as 500 MESH_ERR_INTERNAL. */
export function errorAnswer(err: unknown): ErrorAnswer {
  const mesh = err instanceof MeshError ? err : undefined;
  const code = mesh?.code ?? 'MESH_ERR_INTERNAL';
  const body = JSON.stringify({ error: { code, message: mesh?.message ?? 'internal mesh error' } });
  return {
    statusCode: mesh?.statusCode ?? 500,
    headers: { ...mesh?.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-meshcart-error': code },
    body,
  };
}
