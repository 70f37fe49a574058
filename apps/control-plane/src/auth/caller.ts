// Who is calling the control plane: proven by a certificate or a verified token, never by a header or an address.

/** How a workload proved which service it is. */
export type Attestation = 'certificate' | 'join-credential' | 'service-account-token';

export type Caller =
  /** Holds the operator credential: may change the mesh (config, faults, drains, credentials, the CA). */
  | { kind: 'operator' }
  /** A workload of one service: may get that service's certificate and register that service's proxies. */
  | { kind: 'workload'; service: string; spiffeId: string; via: Attestation; credentialId?: string }
  /** Another replica of this control plane, by its certificate. */
  | { kind: 'replica'; spiffeId: string }
  /** No credential, or one that was refused: `problem` says which. */
  | { kind: 'anonymous'; problem?: string };

export { CONTROL_PLANE_ACCOUNT } from '@meshcart/control-plane-api';

/** How a caller is named in refusals, logs and the audit trail. */
export function describe(caller: Caller): string {
  switch (caller.kind) {
    case 'operator':
      return 'operator';
    case 'workload':
      return caller.spiffeId;
    case 'replica':
      return `replica ${caller.spiffeId}`;
    case 'anonymous':
      return 'anonymous';
  }
}

/** The service account name of a SPIFFE ID in this trust domain and namespace, if it is one of ours. */
export function accountOf(spiffeId: string | undefined, trustDomain: string, namespace: string): string | undefined {
  const prefix = `spiffe://${trustDomain}/ns/${namespace}/sa/`;
  return spiffeId?.startsWith(prefix) && !spiffeId.slice(prefix.length).includes('/') ? spiffeId.slice(prefix.length) : undefined;
}
