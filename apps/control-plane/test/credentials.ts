// The credentials control planes in these tests are started with: one operator token, and a join credential per service.
import type { ControlPlaneOptions } from '../src/app';

export const OPERATOR_TOKEN = 'operator-token-of-the-control-plane-specs';

const SERVICES = ['user-service', 'product-service', 'order-service', 'payment-service', 'gateway'] as const;
export type Service = (typeof SERVICES)[number];

export const JOIN_TOKENS = Object.fromEntries(SERVICES.map((s) => [s, `join-credential-of-${s}-in-specs`])) as Record<Service, string>;

/** What buildApp is given in these tests. */
export const access: Pick<ControlPlaneOptions, 'operatorToken' | 'joinCredentials'> = { operatorToken: OPERATOR_TOKEN, joinCredentials: JOIN_TOKENS };

/** Headers for a call an operator makes (meshctl). */
export const asOperator = { authorization: `Bearer ${OPERATOR_TOKEN}` };

/** Headers for a call a workload of `service` makes with its join credential. */
export const asWorkload = (service: Service) => ({ authorization: `Bearer ${JOIN_TOKENS[service]}` });

/** The join credential a proxy of `service` is started with. */
export const joinOf = (service: string) => ({ token: JOIN_TOKENS[service as Service] ?? `no-credential-for-${service}` });
