// Drills (meshctl fault): a fault on every route of one service, set and cleared through the control plane.
import { Fault, ServiceName } from '@meshcart/mesh-config';
import { Type, type Static } from '@sinclair/typebox';

/** Routes about one service: its fault (PUT/DELETE, body: a mesh-config Fault), its compiled resources. */
export const ServiceParams = Type.Object({ service: ServiceName });
export type ServiceParams = Static<typeof ServiceParams>;

/** GET /api/v1/faults: the services that have a fault, with it. */
export const FaultList = Type.Record(Type.String(), Fault);
export type FaultList = Static<typeof FaultList>;

/** What a fault change answers: the config now in force. */
export const ConfigSummary = Type.Object({ profile: Type.String(), version: Type.String(), services: Type.Array(Type.String()) });
export type ConfigSummary = Static<typeof ConfigSummary>;
