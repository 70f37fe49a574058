// The CA's roots (meshctl ca status) and their rotation (meshctl ca rotate), which only an operator starts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CaStatus } from '@meshcart/control-plane-api';
import { conflict } from '@meshcart/service-kit';
import type { AuditLog } from '../audit-log';
import type { Auth } from '../auth/auth';
import { describe } from '../auth/caller';
import type { CaRotation } from '../ca-rotation';
import { RotationError } from '../certificate-authority';

export interface CaPluginOptions {
  rotation: CaRotation;
  auth: Auth;
  audit: AuditLog;
}

export const caPlugin: FastifyPluginAsyncTypebox<CaPluginOptions> = async (app, { rotation, auth, audit }) => {
  app.get('/api/v1/ca/status', { schema: { response: { 200: CaStatus } }, preValidation: auth.reader('the CA status') }, async () =>
    rotation.status(),
  );

  app.post('/api/v1/ca/rotate', { schema: { response: { 202: CaStatus } }, preValidation: auth.operatorOnly('ca rotate') }, async (req, reply) => {
    try {
      rotation.start();
    } catch (err) {
      if (err instanceof RotationError) throw conflict(err.code, err.message);
      throw err;
    }
    audit.record({
      by: describe(req.caller),
      action: `ca rotate (from ${rotation.status().phase}, root ${rotation.status().roots[0]!.fingerprint.slice(0, 16)})`,
    });
    return reply.code(202).send(rotation.status());
  });
};
