// meshctl drain / undrain INSTANCE: take an instance out of every endpoint list (it keeps its config and registration) and bring it back.
import { ContractCheck, DrainState } from '@meshcart/control-plane-api';
import type { ControlPlaneApi } from './control-plane-api';
import { UsageError } from './fault-command';
import type { Output } from './output';

const drainState = new ContractCheck(DrainState);

export const DRAIN_USAGE = `  meshctl drain INSTANCE                 take an instance out of every endpoint list, across its heartbeats
  meshctl undrain INSTANCE               bring a drained instance back`;

export async function drainCommand(api: ControlPlaneApi, drained: boolean, args: string[], out: Output): Promise<void> {
  const [instance] = args;
  if (!instance) throw new UsageError(`meshctl ${drained ? 'drain' : 'undrain'} needs an instance (meshctl status lists them)`);
  const res = await api.call(drained ? 'POST' : 'DELETE', `/api/v1/proxies/${encodeURIComponent(instance)}/drain`, drainState);
  if (out.json) return out.line(JSON.stringify(res, null, 2));
  out.line(
    res.drained
      ? `${res.instance} is drained: no proxy sends it new requests until meshctl undrain ${res.instance}`
      : `${res.instance} is back in the endpoint lists of its callers`,
  );
}
