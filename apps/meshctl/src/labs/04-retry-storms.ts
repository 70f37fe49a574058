// Lab 04: immediate retries without a budget multiply the load on a failing dependency; a retry budget with backoff caps it (docs/labs/04-retry-storms.md).
import type { Fault, MeshConfig, Policy, Retries } from '@meshcart/mesh-config';
import { atMost, equals, shown, verdict, type Lab } from './lab';
import { grew } from './lab-mesh';

const SERVICE = 'product-service';
/** The drill: most of the catalog's answers fail, as from an overloaded dependency. */
const DRILL: Fault = { abort: { httpStatus: 503, percent: 80 } };
/** The baseline profile's retries: three more tries at once, on any 5xx. */
const STORM: Retries = { attempts: 3, retryOn: ['5xx', 'connect-failure', 'reset'], backoff: { baseMs: 0, maxMs: 0 } };
/**
 * Requests per second the check sends, on schedule (open loop), so the budget's per-second floor is a
 * known share of them whatever the machine's speed.
 */
const RATE = 50;
/** With 80% failing answers, three immediate retries make about 2.95 tries per request; a 20% budget about 1.2. */
const GOAL = 1.5;
const BUDGET_WINDOW_S = 10;

type RetryBudget = NonNullable<Policy['retryBudget']>;

/** What applies to product-service: its own setting, else the mesh default (as the control plane compiles it). */
function inForce<T>(config: MeshConfig, pick: (p: Policy | undefined) => T | undefined) {
  const own = pick(config.spec.services[SERVICE]?.policy);
  if (own !== undefined) return { where: `spec.services.${SERVICE}.policy`, value: own };
  const mesh = pick(config.spec.defaults?.policy);
  return mesh !== undefined ? { where: 'spec.defaults.policy', value: mesh } : undefined;
}

const budgetOf = (config: MeshConfig) => inForce<RetryBudget>(config, (p) => p?.retryBudget);
const retriesOf = (config: MeshConfig) => inForce<Retries>(config, (p) => p?.retries);

const describeRetries = (r: Retries | undefined) =>
  !r || r.attempts === 0
    ? 'none'
    : `${r.attempts} on ${(r.retryOn ?? ['gateway-error', 'connect-failure', 'reset']).join(',')}, backoff ${r.backoff ? `${r.backoff.baseMs}-${r.backoff.maxMs}` : '25-250'} ms`;

/** The drill as the check needs it: an abort that fails at least half of the answers. */
const drillInForce = (config: MeshConfig) => {
  const abort = config.spec.services[SERVICE]?.fault?.abort;
  return abort && abort.httpStatus >= 500 && abort.percent >= 50 ? `abort ${abort.httpStatus} ${abort.percent}%` : 'missing';
};

export const retryStorms: Lab = {
  id: '04-retry-storms',
  title: 'Retry storms: a retry budget and backoff cap what retries add to a failing dependency',
  minutes: 15,
  needs: 'npm start',

  async start(mesh) {
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    delete draft.spec.defaults?.policy?.retryBudget;
    for (const s of Object.values(draft.spec.services)) delete s.policy?.retryBudget;
    const product = (draft.spec.services[SERVICE] ??= {});
    product.policy = { ...product.policy, retries: STORM };
    product.fault = DRILL;
    await mesh.apply(draft, 'meshctl lab start 04-retry-storms');
    return {
      changes: [
        `spec.services.${SERVICE}.policy.retries: ${describeRetries(STORM)} (the baseline profile's, without a budget)`,
        'spec.defaults.policy.retryBudget and every service retryBudget: removed (nothing limits retries)',
        `spec.services.${SERVICE}.fault: abort 503 on 80% of requests (product-service failing, as when it is overloaded)`,
      ],
      config: draft,
    };
  },

  async check(mesh) {
    const seconds = mesh.seconds(9);
    const before = await mesh.scrape();
    const traffic = await mesh.traffic({
      seconds,
      rate: RATE,
      label: 'browsing the catalog through the gateway while product-service fails',
      next: (i) => ({ path: `/api/products/p-00${(i % 5) + 1}` }),
    });
    const after = await mesh.scrape();
    const { config } = await mesh.config();
    const n = traffic.count;
    const retries = grew(before, after, 'mesh_retries_total', { dst_service: SERVICE });
    const exhausted = grew(before, after, 'mesh_retry_budget_exhausted_total', { dst_service: SERVICE });
    const reached = grew(before, after, 'mesh_requests_total', { direction: 'inbound', dst_service: SERVICE });
    const attempts = n ? 1 + retries / n : Infinity;
    const budget = budgetOf(config);
    const policy = retriesOf(config);
    const drill = drillInForce(config);
    return verdict(
      [
        atMost('tries per request sent to product-service', attempts, GOAL),
        equals('retry budget for product-service', budget ? 'yes' : 'none', 'yes'),
        equals('the drill (spec.services.product-service.fault)', drill === 'missing' ? 'missing' : 'in force', 'in force'),
        shown('retries sent', retries, '', 0),
        shown('retries refused by the budget', exhausted, '', 0),
        shown('tries that reached product-service per request', n ? reached / n : 0),
        shown('requests', n),
        shown('answered 2xx', n ? 100 * (1 - traffic.errorRate) : 0, '%', 1),
        shown('mean latency', traffic.meanMs, 'ms'),
        shown('p99 latency', traffic.p99Ms, 'ms'),
        shown('retries in force', policy ? `${describeRetries(policy.value)} (${policy.where})` : 'none'),
        shown(
          'retry budget in force',
          budget ? `${budget.value.budgetPercent}% + ${budget.value.minRetriesPerSecond}/s (${budget.where}.retryBudget)` : 'none',
        ),
      ],
      (m) => {
        if (m.name.startsWith('tries per request')) {
          const why = !budget
            ? `no retryBudget applies to ${SERVICE}: add one (spec.services.${SERVICE}.policy.retryBudget or spec.defaults.policy.retryBudget), e.g. budgetPercent: 20, minRetriesPerSecond: 1, with backoff in the retries`
            : floorShare(budget.value, n) > 0.2
              ? `${budget.where}.retryBudget.minRetriesPerSecond is ${budget.value.minRetriesPerSecond}: that floor alone lets ${budget.value.minRetriesPerSecond * BUDGET_WINDOW_S} retries through per ${BUDGET_WINDOW_S} s whatever the traffic, ${floorShare(budget.value, n).toFixed(2)} per request at this check's ${n} requests; lower it (1 or 2)`
              : `${budget.where}.retryBudget.budgetPercent is ${budget.value.budgetPercent}: retries may add that share of the requests; 20 keeps it near 1.2 tries per request`;
          return `the gateway sent ${m.value} tries per request to ${SERVICE} (goal ≤ ${GOAL}; unbudgeted immediate retries make about 2.95 here): ${why}`;
        }
        if (m.name.startsWith('retry budget'))
          return `no retryBudget applies to ${SERVICE} (neither spec.services.${SERVICE}.policy.retryBudget nor spec.defaults.policy.retryBudget): a budget caps retries whatever the retry policy says`;
        return `spec.services.${SERVICE}.fault is not the lab's drill (an abort of at least half of the requests): put it back with npx meshctl fault --service product --abort 503 --percent 80`;
      },
    );
  },

  async solve(mesh) {
    const retries: Retries = {
      attempts: 2,
      perTryTimeoutMs: 2000,
      retryOn: ['gateway-error', 'connect-failure', 'reset'],
      backoff: { baseMs: 25, maxMs: 250 },
    };
    const budget: RetryBudget = { budgetPercent: 20, minRetriesPerSecond: 1 };
    await mesh.patch((c) => {
      const product = (c.spec.services[SERVICE] ??= {});
      product.policy = { ...product.policy, retries, retryBudget: budget };
    }, 'meshctl lab solve 04-retry-storms');
    return [
      `spec.services.${SERVICE}.policy.retries: ${describeRetries(retries)}, perTryTimeoutMs 2000`,
      `spec.services.${SERVICE}.policy.retryBudget: budgetPercent 20, minRetriesPerSecond 1`,
    ];
  },
};

/** Retries per request the budget's floor allows on its own over a check of `n` requests (shorter than its window). */
function floorShare(budget: RetryBudget, n: number): number {
  return n ? (budget.minRetriesPerSecond * BUDGET_WINDOW_S) / n : 0;
}
