// Public API of the service kit: what every MeshCart service shares.
export { createServiceApp, type ServiceApp, type ServiceAppOptions } from './service-app';
export { HttpError, badRequest, conflict, notFound, unauthorized, installErrorHandling, type ErrorBody, type ErrorDetail } from './errors';
export { installHealth, type ReadinessCheck } from './health';
export { openDatabase, type Migration, type SqliteDatabase } from './sqlite-store';
export { MeshClient, MeshCallError, type MeshCall, type MeshClientMode, type MeshClientOptions, type MeshReply } from './mesh-client';
export {
  readServiceEnv,
  readPort,
  readNumber,
  parseUpstreams,
  parseLabels,
  readJoinCredential,
  EnvError,
  type JoinCredentialSetting,
  type ServiceEnv,
  type ServiceMeshEnv,
} from './service-env';
export { runService, notifyReady, onShutdown, portInUseMessage, type ReadyMessage } from './run-service';
export { ManagedProcess, workspaceRoot, type ManagedProcessOptions } from './managed-process';
export { trackConnections, type ConnectionTracker } from './graceful-close';
export {
  DEADLINE_HEADER,
  TRACEPARENT_HEADER,
  currentTraceparent,
  parseDeadlineMs,
  remainingDeadlineMs,
  traceIdOf,
  withDeadline,
  withRequestContext,
} from './request-context';
