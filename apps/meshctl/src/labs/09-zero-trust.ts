// Lab 09: default-deny authorization, one rule missing: write it as narrow as the shop's calls (docs/labs/09-zero-trust.md).
import type { Authorization } from '@meshcart/mesh-config';
import { atLeast, atMost, equals, shown, verdict, type Lab } from './lab';
import { callAs, borrowIdentity, endpointsOf, type ProbeAnswer } from './lab-identity';
import { grew } from './lab-mesh';
import { placeOrders, shopperToken } from './lab-shop';

type Rule = Authorization['rules'][number];

const PAYMENT = 'payment-service';
/** What the shop sends payment-service, all from order-service: a charge, the lookup and the refund of a compensation. */
const NEEDED = [
  { method: 'POST', path: '/charges', shown: 'POST /charges' },
  { method: 'GET', path: '/charges?orderId=ord_lab', shown: 'GET /charges?orderId=…' },
  { method: 'POST', path: '/charges/ch_lab/refund', shown: 'POST /charges/{id}/refund' },
] as const;
const METHODS = ['GET', 'POST'];
/** The rule start removes and solve puts back, as narrow as the calls above. */
const RULE: Rule = { to: PAYMENT, from: ['order-service'], methods: ['GET', 'POST'], paths: ['/charges', '/charges/*'] };
/** Calls that must stay refused: another service charging, and the rightful caller off the shop's methods and paths. */
const UNWANTED = [
  { as: 'user-service', method: 'POST', path: '/charges', why: 'user-service charging a card' },
  { as: 'order-service', method: 'DELETE', path: '/charges/ch_lab_probe', why: 'order-service with a method the shop never sends' },
  { as: 'order-service', method: 'GET', path: '/metrics', why: 'order-service on a path the shop never calls' },
] as const;
const RATE = 5;

/** "*" is anything, "/a/*" is /a and below, anything else exact: the sidecar's own reading of a rule's paths. */
const pathMatches = (pattern: string, path: string) =>
  pattern === '*' || (pattern.endsWith('/*') ? path === pattern.slice(0, -2) || path.startsWith(pattern.slice(0, -1)) : path === pattern);

/** Would the config let `from` send `method path` to payment-service? */
function allowed(auth: Authorization | undefined, from: string, method: string, pathAndQuery: string): boolean {
  if (!auth) return true;
  const path = pathAndQuery.split('?')[0]!;
  const hit = auth.rules.some(
    (r) =>
      r.to === PAYMENT &&
      (r.from.includes('*') || r.from.includes(from)) &&
      (!r.methods || r.methods.includes(method as never)) &&
      (!r.paths || r.paths.some((p) => pathMatches(p, path))),
  );
  return hit || auth.defaultAction === 'ALLOW';
}

/** A path pattern within the shop's calls: /charges, or /charges/ and below. */
const within = (p: string) => p === '/charges' || p.startsWith('/charges/');

/** What a rule to payment-service lets in beyond the shop's calls, one line each. */
function tooBroad(rule: Rule, i: number): string[] {
  const at = `spec.authorization.rules[${i}] (to: ${PAYMENT})`;
  const problems: string[] = [];
  if (rule.from.includes('*'))
    problems.push(`${at} has from: ["*"]: every caller, the gateway included, may call ${PAYMENT}; name order-service only`);
  const others = rule.from.filter((f) => f !== '*' && f !== 'order-service');
  if (others.length) problems.push(`${at} lets ${others.join(', ')} call ${PAYMENT}, which the shop never does; only order-service calls it`);
  if (!rule.methods) problems.push(`${at} has no methods, so any method is let in; the shop sends GET and POST`);
  else if (rule.methods.some((m) => !METHODS.includes(m)))
    problems.push(`${at} lets in ${rule.methods.filter((m) => !METHODS.includes(m)).join(', ')}; the shop sends only GET and POST`);
  if (!rule.paths) problems.push(`${at} has no paths, so any path is let in; the shop calls /charges and /charges/*`);
  else if (rule.paths.some((p) => !within(p)))
    problems.push(`${at} lets in paths ${rule.paths.filter((p) => !within(p)).join(', ')}; the shop calls only /charges and /charges/*`);
  return problems;
}

/** How an unwanted call that was not refused by authorization ended. */
const outcome = (a: ProbeAnswer | string) =>
  typeof a === 'string'
    ? a
    : a.code
      ? `was answered ${a.status} ${a.code}, not 403 MESH_ERR_FORBIDDEN`
      : `got through to payment-service (answered ${a.status})`;

export const zeroTrust: Lab = {
  id: '09-zero-trust',
  title: 'Zero trust: default-deny, and the one rule the shop is missing',
  minutes: 20,
  needs: 'npm start',

  async start(mesh) {
    await shopperToken(mesh);
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    const changes: string[] = [];
    if (draft.spec.authorization?.defaultAction !== 'DENY') {
      draft.spec.authorization = structuredClone((await mesh.profile('optimized')).spec.authorization);
      changes.push('spec.authorization: the optimized profile’s default-deny rules (the config in force let every call in)');
    }
    if ((draft.spec.mtls?.mode ?? 'STRICT') !== 'STRICT') {
      draft.spec.mtls = { ...draft.spec.mtls, mode: 'STRICT' };
      changes.push('spec.mtls.mode: STRICT (rules name callers by their certificate: every caller needs one)');
    }
    const auth = draft.spec.authorization!;
    const removed = auth.rules.filter((r) => r.to === PAYMENT).length;
    auth.rules = auth.rules.filter((r) => r.to !== PAYMENT);
    await mesh.apply(draft, 'meshctl lab start 09-zero-trust');
    changes.push(
      `spec.authorization.rules: ${removed === 1 ? 'a rule' : `${removed} rules`} taken out; every other rule and defaultAction: DENY stay`,
      'a shopper registered through the gateway (POST /api/users), its session kept for the check',
    );
    return { changes, config: draft };
  },

  async check(mesh) {
    const { traffic, before, after } = await placeOrders(mesh, { seconds: mesh.seconds(8), rate: RATE });

    // The unwanted calls, made for real: each with a borrowed identity, straight to payment-service's sidecar.
    mesh.progress(`calling ${PAYMENT} as user-service and as order-service, off the shop's calls`);
    const [endpoint] = await endpointsOf(mesh, PAYMENT);
    const identities = new Map<string, Awaited<ReturnType<typeof borrowIdentity>>>();
    const probes: { why: string; call: string; answer: ProbeAnswer | string }[] = [];
    for (const u of UNWANTED) {
      const call = `${u.as} → ${u.method} ${u.path}`;
      if (!endpoint) {
        probes.push({ why: u.why, call, answer: `${PAYMENT} has no mTLS endpoint registered` });
        continue;
      }
      try {
        if (!identities.has(u.as)) identities.set(u.as, await borrowIdentity(mesh, u.as));
        // An empty body: a charge let through by mistake is refused by payment-service itself, so no money moves.
        const answer = await callAs(identities.get(u.as)!, endpoint, {
          method: u.method,
          path: u.path,
          ...(u.method === 'POST' ? { body: {} } : {}),
        });
        probes.push({ why: u.why, call, answer });
      } catch (err) {
        probes.push({ why: u.why, call, answer: `could not be made: ${(err as Error).message}` });
      }
    }
    const refused = probes.filter((p) => typeof p.answer !== 'string' && p.answer.status === 403 && p.answer.code === 'MESH_ERR_FORBIDDEN');

    const { config } = await mesh.config();
    const auth = config.spec.authorization;
    const needed = NEEDED.filter((c) => allowed(auth, 'order-service', c.method, c.path));
    const broad = [
      ...(auth?.defaultAction === 'DENY'
        ? []
        : [`spec.authorization.defaultAction is ${auth?.defaultAction ?? 'unset (no authorization)'}: what no rule allows gets in anyway; set DENY`]),
      ...(auth?.rules ?? []).flatMap((r, i) => (r.to === PAYMENT ? tooBroad(r, i) : [])),
    ];
    const denied = grew(before, after, 'mesh_authz_denied_total', { src_service: 'order-service', dst_service: PAYMENT });
    const confirmed = traffic.count ? (traffic.byStatus['201'] ?? 0) / traffic.count : 0;
    const answers =
      Object.entries(traffic.byStatus)
        .map(([s, k]) => `${s}: ${k}`)
        .join(', ') || 'none';

    const CONFIRMED = 'orders confirmed (201)';
    const DENIED = 'calls order-service → payment-service refused by authorization';
    const NEEDS = 'the shop’s calls to payment-service the rules let in';
    const PROBES = 'unwanted calls payment-service’s sidecar refused (403 MESH_ERR_FORBIDDEN)';
    const BROAD = 'what the rules to payment-service let in beyond the shop’s calls';
    const result = verdict(
      [
        atLeast(CONFIRMED, confirmed, 0.8),
        atMost(DENIED, denied, 0, '', 0),
        equals(NEEDS, `${needed.length} of ${NEEDED.length}`, `${NEEDED.length} of ${NEEDED.length}`),
        equals(PROBES, `${refused.length} of ${probes.length}`, `${UNWANTED.length} of ${UNWANTED.length}`),
        atMost(BROAD, broad.length, 0, '', 0),
        shown('orders placed', traffic.count),
        shown('answers by status', answers),
        ...probes.map((p) =>
          shown(`  ${p.call}`, typeof p.answer === 'string' ? p.answer : `${p.answer.status}${p.answer.code ? ` ${p.answer.code}` : ''}`),
        ),
        shown(
          'refusals at payment-service while the orders ran, any caller',
          grew(before, after, 'mesh_authz_denied_total', { dst_service: PAYMENT }),
        ),
      ],
      (m) => {
        if (m.name === CONFIRMED) return `${(confirmed * 100).toFixed(0)}% of orders were confirmed (goal ≥ 80%); answers by status: ${answers}`;
        if (m.name === DENIED)
          return `payment-service's sidecar refused order-service ${denied} times (mesh_authz_denied_total{src_service="order-service",dst_service="${PAYMENT}"}): no rule in spec.authorization.rules lets in what order-service sends it`;
        if (m.name === NEEDS)
          return `the rules refuse ${NEEDED.filter((c) => !needed.includes(c))
            .map((c) => c.shown)
            .join(', ')} from order-service, which the shop sends (a charge, the lookup and the refund of a failed order)`;
        if (m.name === PROBES)
          return `${probes
            .filter((p) => !refused.includes(p))
            .map((p) => `${p.why} (${p.call}) ${outcome(p.answer)}`)
            .join('; ')}: the rules let in more than the shop's calls`;
        return BROAD;
      },
    );
    // One line for each way the rules are too broad.
    result.stillWrong = result.stillWrong.flatMap((line) => (line === BROAD ? broad : [line]));
    return result;
  },

  async solve(mesh) {
    await mesh.patch((c) => {
      c.spec.authorization ??= { defaultAction: 'DENY', rules: [] };
      c.spec.authorization.defaultAction = 'DENY';
      c.spec.authorization.rules = [...c.spec.authorization.rules.filter((r) => r.to !== PAYMENT), structuredClone(RULE)];
    }, 'meshctl lab solve 09-zero-trust');
    return [`spec.authorization.rules: + { to: ${PAYMENT}, from: [order-service], methods: [GET, POST], paths: [/charges, /charges/*] }`];
  },
};
