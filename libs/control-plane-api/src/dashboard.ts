// The dashboard's live view (GET /api/v1/dashboard/stream, server-sent events): the mesh as a graph with its golden metrics, and every proxy's state.
import { Type, type Static } from '@sinclair/typebox';
import { Nullable } from './nullable';
import { ProxyView } from './proxy-view';
import { FaultList } from './service-fault';

/** Golden metrics over the last scrape interval; null where there was no traffic to judge by. */
export const GoldenStats = Type.Object({
  rps: Type.Number(),
  /** Share of requests answered without a 5xx. */
  successRate: Nullable(Type.Number()),
  p50Ms: Nullable(Type.Number()),
  p99Ms: Nullable(Type.Number()),
});
export type GoldenStats = Static<typeof GoldenStats>;

/** idle: no traffic; healthy: ≥ 99% success; degraded: ≥ 90%; failing: below. */
export const Health = Type.Union([Type.Literal('idle'), Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('failing')]);
export type Health = Static<typeof Health>;

/** The gateway, a service (its instances' inbound traffic summed) or one instance (its own proxy's). */
export const TopologyNode = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('gateway'), Type.Literal('service'), Type.Literal('instance')]),
  service: Type.String(),
  /** For an instance: its name and the subset labels it registered with (version=v2 for the canary). */
  instance: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  stats: GoldenStats,
  health: Health,
});
export type TopologyNode = Static<typeof TopologyNode>;

/** Who called whom, as the caller's proxy counted it (the latency the caller felt). */
export const TopologyEdge = Type.Object({
  id: Type.String(),
  source: Type.String(),
  target: Type.String(),
  stats: GoldenStats,
  health: Health,
});
export type TopologyEdge = Static<typeof TopologyEdge>;

export const BreakerState = Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')]);

/** One proxy as the dashboard shows it: the registry's view plus what its admin port says. */
export const DashboardProxy = Type.Object({
  ...ProxyView.properties,
  labels: Type.Record(Type.String(), Type.String()),
  /** The resources version the config in force compiles to for this proxy's service: in force once its configVersion is this, ACKed. */
  expectedVersion: Type.String(),
  /** The error-rate breaker of each destination this proxy has seen change state. */
  breakers: Type.Array(Type.Object({ cluster: Type.String(), state: BreakerState })),
  /** Endpoints outlier detection has ejected, per destination (read from /config_dump, less often than metrics). */
  ejected: Type.Array(Type.Object({ cluster: Type.String(), instance: Type.String() })),
  /** Why the last scrape of its admin port failed, if it did. */
  scrapeError: Nullable(Type.String()),
});
export type DashboardProxy = Static<typeof DashboardProxy>;

/** One event of the stream: everything the dashboard draws, replaced whole each interval. */
export const DashboardSnapshot = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  /** How often proxies are scraped; rates are over the time between a proxy's last two scrapes. */
  intervalMs: Type.Integer(),
  profile: Type.String(),
  configVersion: Type.String(),
  faults: FaultList,
  nodes: Type.Array(TopologyNode),
  edges: Type.Array(TopologyEdge),
  proxies: Type.Array(DashboardProxy),
});
export type DashboardSnapshot = Static<typeof DashboardSnapshot>;

/** GET /api/v1/profiles: the profile files the control plane can switch to. */
export const ProfileList = Type.Array(Type.String());
export type ProfileList = Static<typeof ProfileList>;

/** GET /api/v1/config/diff?from=&to=: the knobs that differ between two applied versions. */
export const DiffQuery = Type.Object({ from: Type.String({ pattern: '^[0-9a-f]{4,16}$' }), to: Type.String({ pattern: '^[0-9a-f]{4,16}$' }) });
export type DiffQuery = Static<typeof DiffQuery>;
