// Lab 08: a delay fault shows a timeout set too short for the call it guards (docs/labs/08-fault-injection-timeouts.md).
import type { MeshConfig, Route } from '@meshcart/mesh-config';
import { atLeast, atMost, equals, shown, verdict, type Lab } from './lab';
import { grew } from './lab-mesh';
import { placeOrders, shopperToken } from './lab-shop';

const PAYMENT = 'payment-service';
/** The payment processor on a bad day: half the calls to payment-service wait this long first. */
const DELAY = { fixedDelayMs: 1000, percent: 50 };
/** The route the payments team added back when a charge took 20 ms, with its "fail fast" timeout. */
const PLANTED: Route = { name: 'charges', match: { pathExact: '/charges', methods: ['POST'] }, timeoutMs: 500 };
const SOLVED_MS = 1500;
/** A slow charge must fit, with some headroom. */
const LOWEST_MS = DELAY.fixedDelayMs + 300;
/** order-service gives each call of an order's saga 5 s (its stepTimeoutMs, in code). */
const STEP_MS = 5000;
const BUILT_IN_TIMEOUT_MS = 15_000;
/** Orders per second the check places. */
const RATE = 6;

/** Does `r` take order-service's charge, POST /charges (no headers)? */
const takesCharges = (r: Route) =>
  !r.match.headers &&
  (!r.match.methods || r.match.methods.includes('POST')) &&
  (r.match.pathExact !== undefined ? r.match.pathExact === '/charges' : '/charges'.startsWith(r.match.pathPrefix ?? '/'));

interface Knob {
  where: string;
  ms: number;
}

/** The timeout the charge gets, and where the config sets it: the first route that takes it, else payment-service's policy, else the defaults. */
function chargeTimeout(config: MeshConfig): Knob {
  const svc = config.spec.services[PAYMENT];
  const i = (svc?.routes ?? []).findIndex(takesCharges);
  const route = i >= 0 ? svc!.routes![i]! : undefined;
  if (route?.timeoutMs !== undefined) return { where: `spec.services.${PAYMENT}.routes[${i}] (${route.name}).timeoutMs`, ms: route.timeoutMs };
  if (svc?.policy?.timeoutMs !== undefined) return { where: `spec.services.${PAYMENT}.policy.timeoutMs`, ms: svc.policy.timeoutMs };
  return { where: 'spec.defaults.policy.timeoutMs', ms: config.spec.defaults?.policy?.timeoutMs ?? BUILT_IN_TIMEOUT_MS };
}

/**
 * How long the gateway waits for one try of POST /api/orders. Its edge route takes order-service's policy (not
 * the place-order route): the timeout, and the retries' perTryTimeoutMs when shorter.
 */
function gatewayWait(config: MeshConfig): Knob {
  const own = config.spec.services['order-service']?.policy;
  const mesh = config.spec.defaults?.policy;
  const timeout: Knob =
    own?.timeoutMs !== undefined
      ? { where: 'spec.services.order-service.policy.timeoutMs', ms: own.timeoutMs }
      : { where: 'spec.defaults.policy.timeoutMs', ms: mesh?.timeoutMs ?? BUILT_IN_TIMEOUT_MS };
  const retries = own?.retries ?? mesh?.retries;
  const perTry = retries?.perTryTimeoutMs;
  if (perTry === undefined || perTry >= timeout.ms) return timeout;
  return { where: `spec.${own?.retries ? 'services.order-service' : 'defaults'}.policy.retries.perTryTimeoutMs`, ms: perTry };
}

export const faultInjectionTimeouts: Lab = {
  id: '08-fault-injection-timeouts',
  title: 'Fault injection and timeouts: a delay shows a timeout set wrong',
  minutes: 20,
  needs: 'npm start',

  async start(mesh) {
    await shopperToken(mesh);
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    const payment = (draft.spec.services[PAYMENT] ??= {});
    payment.routes = [structuredClone(PLANTED), ...(payment.routes ?? []).filter((r) => r.name !== PLANTED.name)];
    payment.fault = { delay: { ...DELAY } };
    await mesh.apply(draft, 'meshctl lab start 08-fault-injection-timeouts');
    return {
      changes: [
        `spec.services.${PAYMENT}.fault: a ${DELAY.fixedDelayMs} ms delay on ${DELAY.percent}% of calls to ${PAYMENT} (its payment processor on a bad day)`,
        `spec.services.${PAYMENT}.routes: a route for charges, as the payments team set it up back when a charge took 20 ms`,
        'a shopper registered through the gateway (POST /api/users), its session kept for the check',
      ],
      config: draft,
    };
  },

  async check(mesh) {
    const { traffic, before, after } = await placeOrders(mesh, { seconds: mesh.seconds(10), rate: RATE });
    const { config } = await mesh.config();

    const edge = { direction: 'outbound', src_service: 'order-service', dst_service: PAYMENT };
    const calls = grew(before, after, 'mesh_requests_total', edge);
    const timedOut = grew(before, after, 'mesh_requests_total', { ...edge, status_code: '504' });
    const timedOutShare = calls ? timedOut / calls : 1;
    const confirmed = traffic.count ? (traffic.byStatus['201'] ?? 0) / traffic.count : 0;
    // What payment-service's own inbound side saw: only the calls that reached it (a delayed call cut short never does).
    const inbound = { direction: 'inbound', dst_service: PAYMENT };
    const reached = grew(before, after, 'mesh_requests_total', inbound);
    const failedThere = ['500', '502', '503', '504'].reduce(
      (sum, code) => sum + grew(before, after, 'mesh_requests_total', { ...inbound, status_code: code }),
      0,
    );

    const charge = chargeTimeout(config);
    const outer = gatewayWait(config);
    const budget = Math.min(outer.ms, STEP_MS);
    const fault = config.spec.services[PAYMENT]?.fault?.delay;
    const faultInForce = fault && fault.fixedDelayMs >= DELAY.fixedDelayMs && fault.percent >= DELAY.percent ? 'in force' : 'removed or weakened';
    const timeoutFits = charge.ms >= LOWEST_MS && charge.ms <= budget;

    const TIMEOUTS = 'share of calls order-service → payment-service that timed out (504)';
    const CONFIRMED = 'orders confirmed (201)';
    const FAULT = `the delay fault (spec.services.${PAYMENT}.fault.delay)`;
    const answers =
      Object.entries(traffic.byStatus)
        .map(([s, n]) => `${s}: ${n}`)
        .join(', ') || 'none';
    return verdict(
      [
        atMost(TIMEOUTS, timedOutShare, 0.1),
        atLeast(CONFIRMED, confirmed, 0.8),
        { name: `timeout of the charge call (${charge.where})`, value: charge.ms, unit: 'ms', goal: `${LOWEST_MS}–${budget} ms`, ok: timeoutFits },
        equals(FAULT, faultInForce, 'in force'),
        shown('orders placed', traffic.count),
        shown('answers by status', answers),
        shown('calls order-service → payment-service', calls),
        shown('calls payment-service’s own sidecar answered (5xx among them)', `${reached} (${failedThere})`),
        shown(
          'error codes in the answers',
          Object.entries(traffic.byCode)
            .map(([c, k]) => `${c}: ${k}`)
            .join(', ') || 'none',
        ),
        shown('order p50 latency', traffic.p50Ms, 'ms', 0),
        shown('order p99 latency', traffic.p99Ms, 'ms', 0),
        shown(`the gateway waits for a try of POST /api/orders (${outer.where})`, outer.ms, 'ms'),
      ],
      (m) => {
        if (m.name === TIMEOUTS && calls === 0) return `no order got as far as calling ${PAYMENT}: answers by status ${answers}`;
        if (m.name === TIMEOUTS)
          return (
            `${timedOut} of ${calls} calls from order-service to ${PAYMENT} timed out in order-service's sidecar (504 MESH_ERR_UPSTREAM_TIMEOUT), ` +
            `${(timedOutShare * 100).toFixed(0)}% (goal ≤ 10%): the charge gets ${charge.ms} ms (${charge.where}) and a slow one takes ${DELAY.fixedDelayMs} ms` +
            ' (or is a retries.perTryTimeoutMs shorter than that?)'
          );
        if (m.name === CONFIRMED) return `${(confirmed * 100).toFixed(0)}% of orders were confirmed (goal ≥ 80%); answers by status: ${answers}`;
        if (m.name === FAULT)
          return `the delay is the drill, not the bug: put it back (spec.services.${PAYMENT}.fault.delay: fixedDelayMs ${DELAY.fixedDelayMs}, percent ${DELAY.percent}) and fix the timeout instead`;
        return charge.ms < LOWEST_MS
          ? `${charge.where} is ${charge.ms} ms, shorter than a slow charge (${DELAY.fixedDelayMs} ms) plus headroom: give it at least ${LOWEST_MS} ms`
          : `${charge.where} is ${charge.ms} ms, longer than its callers wait (the gateway waits ${outer.ms} ms for a try of the whole order, ${outer.where}; order-service ${STEP_MS} ms for each call): the order is given up before the charge is; at most ${budget} ms`;
      },
    );
  },

  async solve(mesh) {
    let where = '';
    let outer = 0;
    await mesh.patch((c) => {
      const payment = (c.spec.services[PAYMENT] ??= {});
      payment.fault = { delay: { ...DELAY } };
      const route = payment.routes?.find(takesCharges);
      if (route) route.timeoutMs = SOLVED_MS;
      else payment.routes = [{ ...structuredClone(PLANTED), timeoutMs: SOLVED_MS }, ...(payment.routes ?? [])];
      where = chargeTimeout(c).where;
      outer = gatewayWait(c).ms;
    }, 'meshctl lab solve 08-fault-injection-timeouts');
    return [
      `${where}: ${SOLVED_MS} ms (above a slow charge's ${DELAY.fixedDelayMs} ms, below the ${outer} ms the gateway waits for a try of the order)`,
    ];
  },
};
