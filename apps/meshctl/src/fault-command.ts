// `meshctl fault`: inject or clear delays and aborts on a service's routes through the control plane.
import { ConfigSummary, ContractCheck, FaultList } from '@meshcart/control-plane-api';
import type { Fault } from '@meshcart/mesh-config';
import Table from 'cli-table3';
import { parseArgs } from 'node:util';
import type { ControlPlaneApi } from './control-plane-api';

export const FAULT_USAGE = `usage:
  meshctl fault --service NAME (--abort STATUS | --delay-ms MS) [--percent P] [--header name=value]
  meshctl fault clear [--service NAME]
  meshctl fault list
NAME may be short: "product" means product-service. P is 0-100 (default 100).`;

export class UsageError extends Error {}

const configSummary = new ContractCheck(ConfigSummary);
const faultList = new ContractCheck(FaultList);

/** "product" → "product-service"; full names pass through. */
export function serviceName(name: string): string {
  return name.endsWith('-service') || name === 'gateway' ? name : `${name}-service`;
}

function number(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${flag} must be a number from ${min} to ${max}, not "${value}"`);
  return n;
}

export function parseFault(args: string[]): { service: string; fault: Fault } {
  const { values } = parseArgs({
    args,
    options: {
      service: { type: 'string' },
      abort: { type: 'string' },
      'delay-ms': { type: 'string' },
      percent: { type: 'string' },
      header: { type: 'string', multiple: true },
    },
  });
  if (!values.service) throw new UsageError('--service is required');
  const percent = number('percent', values.percent, 0, 100) ?? 100;
  const abort = number('abort', values.abort, 200, 599);
  const delay = number('delay-ms', values['delay-ms'], 0, 600_000);
  if (abort === undefined && delay === undefined) throw new UsageError('give --abort STATUS or --delay-ms MS (or both)');
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const [k, v] = h.split('=');
    if (!k || v === undefined) throw new UsageError(`--header must be name=value, not "${h}"`);
    headers[k.toLowerCase()] = v;
  }
  return {
    service: serviceName(values.service),
    fault: {
      ...(abort !== undefined ? { abort: { httpStatus: Math.trunc(abort), percent } } : {}),
      ...(delay !== undefined ? { delay: { fixedDelayMs: Math.trunc(delay), percent } } : {}),
      ...(Object.keys(headers).length ? { headers } : {}),
    },
  };
}

function describe(fault: Fault): string {
  const parts = [];
  if (fault.abort) parts.push(`abort ${fault.abort.httpStatus} on ${fault.abort.percent}%`);
  if (fault.delay) parts.push(`delay ${fault.delay.fixedDelayMs} ms on ${fault.delay.percent}%`);
  if (fault.headers)
    parts.push(
      `only with ${Object.entries(fault.headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`,
    );
  return parts.join(', ');
}

export async function faultCommand(api: ControlPlaneApi, args: string[], out: (line: string) => void): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'clear') {
    const { values } = parseArgs({ args: rest, options: { service: { type: 'string' } } });
    if (values.service) {
      await api.call('DELETE', `/api/v1/services/${serviceName(values.service)}/fault`, configSummary);
      out(`cleared the fault on ${serviceName(values.service)}`);
    } else {
      await api.call('DELETE', '/api/v1/faults', configSummary);
      out('cleared every fault');
    }
    return;
  }
  if (sub === 'list') {
    const faults = await api.call('GET', '/api/v1/faults', faultList);
    if (Object.keys(faults).length === 0) return out('no faults');
    const table = new Table({ head: ['service', 'fault'], style: { head: [], border: [] } });
    for (const [svc, f] of Object.entries(faults)) table.push([svc, describe(f)]);
    return out(table.toString());
  }
  const { service, fault } = parseFault(args);
  await api.call('PUT', `/api/v1/services/${service}/fault`, configSummary, fault);
  out(`${service}: ${describe(fault)} (pushed to every proxy)`);
}
