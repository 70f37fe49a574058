// Lab 05: payment-service fails every charge; a circuit breaker in front of order-service fails orders fast, then lets them through again once payment recovers (docs/labs/05-circuit-breaking.md).
import { durationMs, type CircuitBreaker, type Fault, type MeshConfig } from '@meshcart/mesh-config';
import { setTimeout as sleep } from 'node:timers/promises';
import { atLeast, atMost, equals, shown, verdict, type Lab, type Measured } from './lab';
import { grew, type Scrape } from './lab-mesh';
import { orderRequest, placeOrder, shopperToken, stockedProducts } from './lab-shop';

const GUARDED = 'order-service';
const FAILING = 'payment-service';
/** The drill: every charge fails (the fault is injected by order-service's sidecar, which calls payment-service). */
const DRILL: Fault = { abort: { httpStatus: 503, percent: 100 } };
/** Orders per second while payment fails, on schedule (open loop). */
const RATE = 10;
/** Share of orders an open breaker must answer at once. */
const FAST_FAIL_GOAL = 0.4;
/** The longest sleepWindow the check waits out; beyond it the check would not finish in a minute. */
const MAX_SLEEP_MS = 10_000;
/** Time the breaker gets, beyond its sleepWindow, to let a probe through once payment is healthy. */
const CLOSE_MARGIN_MS = 3_000;
const BREAKER_STATES = ['closed', 'open', 'half-open'];
const KNOB = `spec.services.${GUARDED}.policy.circuitBreaker`;
const RECOVERED = 'orders confirmed again after payment recovered';

/** The error-rate breaker the gateway keeps for a service: its own circuitBreaker, else the mesh default's (as compiled). */
function breakerFor(config: MeshConfig, service: string): { where: string; cb: CircuitBreaker } | undefined {
  const own = config.spec.services[service]?.policy?.circuitBreaker;
  const found = own
    ? { where: `spec.services.${service}.policy.circuitBreaker`, cb: own }
    : config.spec.defaults?.policy?.circuitBreaker
      ? { where: 'spec.defaults.policy.circuitBreaker', cb: config.spec.defaults.policy.circuitBreaker }
      : undefined;
  return found?.cb.errorThresholdPercentage !== undefined ? found : undefined;
}

const drillInForce = (config: MeshConfig) => {
  const abort = config.spec.services[FAILING]?.fault?.abort;
  return abort && abort.httpStatus >= 500 && abort.percent === 100;
};

/** The gateway's breaker for order-service, as its metrics say (no series: it has no breaker, or it never changed state). */
function gatewayBreaker(scrape: Scrape): string {
  for (const samples of scrape.values())
    for (const s of samples)
      if (s.name === 'mesh_circuit_breaker_state' && s.labels['proxy_service'] === 'gateway' && s.labels['dst_service'] === GUARDED)
        return BREAKER_STATES[s.value] ?? String(s.value);
  return 'closed (never opened)';
}

export const circuitBreaking: Lab = {
  id: '05-circuit-breaking',
  title: 'Circuit breaking: fail fast while payment is down, and recover after sleepWindow',
  minutes: 15,
  needs: 'npm start',

  async start(mesh) {
    // The shopper first, while the shop is healthy: check places orders as this account.
    await shopperToken(mesh);
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    delete draft.spec.defaults?.policy?.circuitBreaker;
    for (const s of Object.values(draft.spec.services)) delete s.policy?.circuitBreaker;
    (draft.spec.services[FAILING] ??= {}).fault = DRILL;
    await mesh.apply(draft, 'meshctl lab start 05-circuit-breaking');
    return {
      changes: [
        'spec.defaults.policy.circuitBreaker and every service circuitBreaker: removed (no breaker anywhere)',
        `spec.services.${FAILING}.fault: abort 503 on every request (payment-service down; every order fails)`,
        'a shopper account for the check, registered through the gateway',
      ],
      config: draft,
    };
  },

  async check(mesh) {
    const { config } = await mesh.config();
    const drill = drillInForce(config);
    const breaker = breakerFor(config, GUARDED);
    const sleepMs = breaker ? durationMs(breaker.cb.sleepWindow ?? '5s') : 0;
    const token = await shopperToken(mesh);
    const products = await stockedProducts(mesh);

    const before = await mesh.scrape();
    const traffic = await mesh.traffic({
      seconds: mesh.seconds(12),
      rate: RATE,
      label: 'placing orders while payment-service fails',
      next: (i) => orderRequest(token, products, i),
    });
    const during = await mesh.scrape();
    const n = traffic.count;
    const fastFailed = traffic.byCode['MESH_ERR_CIRCUIT_OPEN'] ?? 0;
    // Tries that reached order-service: the gateway's retries of a failed order included, each replayed from its Idempotency-Key.
    const reached = grew(before, during, 'mesh_requests_total', { direction: 'inbound', dst_service: GUARDED });
    const stateDuring = gatewayBreaker(during);

    // Payment recovers, when there is a breaker to watch: the check lifts the drill for a moment, places
    // an order every 250 ms until one is confirmed, and puts the drill back whatever happens, so the
    // config in force is yours again (two more versions in meshctl history).
    const watch = breaker !== undefined && sleepMs <= MAX_SLEEP_MS && drill;
    const waitMs = sleepMs + CLOSE_MARGIN_MS;
    let confirmedAfterMs: number | undefined;
    let stateAfter = stateDuring;
    if (watch) {
      const fault = config.spec.services[FAILING]!.fault!;
      mesh.progress(`payment-service recovers: lifting the drill for up to ${(waitMs / 1000).toFixed(0)} s`);
      await mesh.patch((c) => {
        delete c.spec.services[FAILING]!.fault;
      }, 'meshctl lab check 05-circuit-breaking: payment-service recovers for a moment');
      try {
        const healthy = performance.now();
        for (let i = 0; performance.now() - healthy < waitMs; i++) {
          const answer = await placeOrder(mesh, token, products, i);
          if (answer.status === 201) {
            confirmedAfterMs = performance.now() - healthy;
            break;
          }
          if (i % 4 === 0)
            mesh.progress(
              `payment-service healthy for ${((performance.now() - healthy) / 1000).toFixed(0)} s: orders answered ${answer.status} ${answer.code ?? ''}`,
            );
          await sleep(250);
        }
        stateAfter = gatewayBreaker(await mesh.scrape());
      } finally {
        await mesh.patch((c) => {
          (c.spec.services[FAILING] ??= {}).fault = fault;
        }, 'meshctl lab check 05-circuit-breaking: the drill again');
      }
    }

    const measured: Measured[] = [
      atLeast('orders failed fast by the open breaker', n ? (100 * fastFailed) / n : 0, 100 * FAST_FAIL_GOAL, '%', 0),
      ...(breaker ? [atMost('sleepWindow', sleepMs / 1000, MAX_SLEEP_MS / 1000, 's', 1)] : []),
      ...(watch
        ? [
            confirmedAfterMs === undefined
              ? { name: RECOVERED, value: `none within ${waitMs / 1000}`, unit: 's', goal: `≤ ${waitMs / 1000} s`, ok: false }
              : atMost(RECOVERED, confirmedAfterMs / 1000, waitMs / 1000, 's', 1),
            equals('the breaker for order-service once payment recovered', stateAfter.startsWith('closed') ? 'closed' : stateAfter, 'closed'),
          ]
        : []),
      equals('the drill (spec.services.payment-service.fault)', drill ? 'in force' : 'missing', 'in force'),
      shown('orders sent', n),
      shown('answered MESH_ERR_CIRCUIT_OPEN', fastFailed),
      shown('requests order-service received per order', n ? reached / n : 0),
      shown('the breaker for order-service at the end of the drill', breaker ? stateDuring : 'none'),
      shown('mean latency while payment failed', traffic.meanMs, 'ms'),
      shown('p99 latency while payment failed', traffic.p99Ms, 'ms'),
      shown('breaker in force for order-service', breaker ? `${describe(breaker.cb)} (${breaker.where})` : 'none'),
    ];
    return verdict(measured, (m) => {
      if (m.name.startsWith('orders failed fast'))
        return `${m.value}% of orders were answered at once by an open breaker (goal ≥ ${100 * FAST_FAIL_GOAL}%): ${whyNotOpen(config, breaker)}`;
      if (m.name === 'sleepWindow')
        return `${breaker!.where}.sleepWindow is ${String(breaker!.cb.sleepWindow)}: the check waits at most ${MAX_SLEEP_MS / 1000} s for the breaker to try again, so it did not lift the drill to watch it close; set 10s or less (the article's 30s suits a real outage, not a one-minute check)`;
      if (m.name === RECOVERED)
        return `no order was confirmed within ${waitMs / 1000} s of payment-service recovering: after sleepWindow (${String(breaker!.cb.sleepWindow ?? '5s')}) the breaker should let a probe through (halfOpenRequests ${breaker!.cb.halfOpenRequests ?? 1}) and close on its success`;
      if (m.name.startsWith('the breaker for order-service'))
        return `the gateway's breaker for order-service is ${m.value} after payment-service recovered; a good probe after sleepWindow should close it`;
      return `spec.services.${FAILING}.fault is not the lab's drill (abort 503 on every request): put it back with npx meshctl fault --service payment --abort 503 --percent 100`;
    });
  },

  async solve(mesh) {
    const cb: CircuitBreaker = {
      maxConnections: 100,
      httpMaxPendingRequests: 100,
      httpMaxRequests: 100,
      sleepWindow: '5s',
      requestVolumeThreshold: 10,
      errorThresholdPercentage: 50,
    };
    await mesh.patch((c) => {
      const order = (c.spec.services[GUARDED] ??= {});
      order.policy = { ...order.policy, circuitBreaker: cb };
    }, 'meshctl lab solve 05-circuit-breaking');
    return [`${KNOB}: ${describe(cb)} (the article's keys; sleepWindow 5s rather than 30s)`];
  },
};

function describe(cb: CircuitBreaker): string {
  return [
    `errorThresholdPercentage ${cb.errorThresholdPercentage ?? '(unset)'}`,
    `requestVolumeThreshold ${cb.requestVolumeThreshold ?? 20}`,
    `sleepWindow ${cb.sleepWindow ?? '5s'}`,
    ...(cb.maxConnections !== undefined ? [`maxConnections ${cb.maxConnections}`] : []),
    ...((cb.httpMaxPendingRequests ?? cb.maxPendingRequests) !== undefined
      ? [`httpMaxPendingRequests ${cb.httpMaxPendingRequests ?? cb.maxPendingRequests}`]
      : []),
    ...((cb.httpMaxRequests ?? cb.maxRequests) !== undefined ? [`httpMaxRequests ${cb.httpMaxRequests ?? cb.maxRequests}`] : []),
  ].join(', ');
}

/** Why the gateway's breaker for order-service did not open, from the config in force. */
function whyNotOpen(config: MeshConfig, breaker: ReturnType<typeof breakerFor>): string {
  if (breaker) {
    const cb = breaker.cb;
    return `the breaker in ${breaker.where} (${describe(cb)}) did not open: it needs requestVolumeThreshold answers within rollingWindowMs (${cb.rollingWindowMs ?? 10_000} ms) with errorThresholdPercentage of them failing; this check sends ${RATE} orders per second, every one failing`;
  }
  const elsewhere = Object.entries(config.spec.services)
    .filter(([name, s]) => name !== GUARDED && s.policy?.circuitBreaker?.errorThresholdPercentage !== undefined)
    .map(([name]) => `spec.services.${name}.policy.circuitBreaker`);
  const onPayment = elsewhere.includes(`spec.services.${FAILING}.policy.circuitBreaker`)
    ? ` ${elsewhere.join(', ')} is set, but a breaker for ${FAILING} lives in order-service's sidecar, the very proxy that injects the drill's fault above its breaker: it never sees a failure. The failures are real one hop up, where order-service answers 503 to the gateway.`
    : '';
  return `no breaker with errorThresholdPercentage applies to ${GUARDED} (the gateway's breaker for the order path): add ${KNOB} with the article's keys (errorThresholdPercentage, requestVolumeThreshold, sleepWindow, …).${onPayment}`;
}
