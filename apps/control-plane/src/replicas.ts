// Control-plane replicas keep one registry and one config between them. Each replica passes on
// what its proxies tell it (registrations and heartbeats, leaves, ACKs, which replica holds a
// proxy's stream) and every config change made through it, so a proxy connected to any replica is
// pushed the whole mesh. There is no leader: registrations are facts about proxies (the last
// heartbeat wins), and of two config changes the later one wins on every replica.
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import {
  ContractCheck,
  ControlPlaneMtls,
  controlPlaneAgent,
  controlPlaneIdFor,
  mtlsUrl,
  PeerReply,
  type PeerBatch,
  type PeerConfigEntry,
  type PeerEvent,
  type PeersView,
} from '@meshcart/control-plane-api';
import { Agent, request } from 'undici';
import type { ConfigStore } from './config-store';
import type { PushServer } from './push-server';
import { registrationOf, type Registry } from './registry';

export interface ReplicasOptions {
  /** Peer base URLs, looked up again every `refreshMs` (a static list, or a headless Service's addresses). May include this replica. */
  discover: () => Promise<string[]>;
  /**
   * This replica's certificate (sa/control-plane), once issued: replicas call each other's mTLS port
   * with it, and each checks the other is a control plane of this mesh. No shared secret.
   */
  credentials: () => { key: string; cert: string; ca: string; spiffeId: string } | undefined;
  /** This replica's id, also recorded on the proxies whose streams it holds. */
  id: string;
  /** SHA-256 of this replica's CA root (known once the CA is loaded, before start). */
  caFingerprint: () => string;
  refreshMs?: number;
  /** How often a link with nothing to send checks its peer is still the same process. */
  keepaliveMs?: number;
  log?: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
}

export class PeerCaMismatchError extends Error {
  readonly code = 'PEER_CA_MISMATCH';
  constructor(peer: string, theirs: string, ours: string) {
    super(
      `replica ${peer} has another CA root (sha256 ${theirs.slice(0, 16)}…, here ${ours.slice(0, 16)}…): ` +
        'certificates from the two would not trust each other. Give every replica the same MESH_CA_DIR (on Kubernetes, the meshcart-ca Secret)',
    );
  }
}

/** A peer that falls this far behind gets a snapshot instead of an ever longer queue. */
const MAX_QUEUE = 10_000;
/** A peer's answer is checked like any batch a peer sends: a replica never acts on a reply it cannot read. */
const peerReply = new ContractCheck(PeerReply);
const peerMtls = new ContractCheck(ControlPlaneMtls);

interface PeerLink {
  url: string;
  /** The peer's mTLS base URL, asked of it at `url` (again after any failure). */
  mtlsUrl?: string;
  replica?: string;
  /** The URL answered with this replica's own id (a static list or DNS names every replica). */
  self: boolean;
  up: boolean;
  busy: boolean;
  needsSnapshot: boolean;
  queue: PeerEvent[];
  lastSent: number;
  lastError?: string;
  /** The last error logged, so a peer that stays down is reported once. */
  reported?: string;
  batches: number;
  failures: number;
}

export class Replicas {
  readonly id: string;
  /** False until this replica has compared its config with the running replicas' (or found none). */
  private joined = false;
  /** What peers answered while this replica was joining. */
  private readonly offers: ({ entry: PeerConfigEntry } & NonNullable<PeerBatch['snapshot']>)[] = [];
  private readonly links = new Map<string, PeerLink>();
  private readonly plain = new Agent({ keepAliveTimeout: 30_000, connections: 1 });
  /** The mTLS dispatcher for the certificate in use; a renewed certificate gets a new one. */
  private secure?: { cert: string; agent: Agent };
  private refresher?: NodeJS.Timeout;
  private ticker?: NodeJS.Timeout;
  private flushScheduled = false;
  private stopped = false;

  constructor(
    private readonly registry: Registry,
    private readonly store: ConfigStore,
    private readonly push: PushServer,
    private readonly opts: ReplicasOptions,
  ) {
    this.id = opts.id;
  }

  /**
   * Discovers peers, sends each this replica's state and takes theirs, then settles the config
   * (see join). Run before the server listens, so no proxy is served a config about to be replaced.
   */
  async start(): Promise<void> {
    await this.refresh().catch((err: Error) => this.opts.log?.warn({ err: err.message }, 'peer discovery failed; starting alone'));
    await Promise.all([...this.links.values()].map((link) => this.flush(link)));
    this.join();
    this.refresher = setInterval(
      () => void this.refresh().catch((err: Error) => this.opts.log?.warn({ err: err.message }, 'peer discovery failed')),
      this.opts.refreshMs ?? 5_000,
    );
    this.ticker = setInterval(() => this.tick(), 500);
    this.refresher.unref();
    this.ticker.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.refresher);
    clearInterval(this.ticker);
    await Promise.all([this.plain.close(), this.secure?.agent.close()]);
  }

  /** Passes a change this replica made or heard from a proxy to every peer. */
  publish(event: PeerEvent): void {
    for (const link of this.links.values()) {
      // A link due a snapshot sends the state this event already changed.
      if (link.self || link.needsSnapshot) continue;
      link.queue.push(event);
      if (link.queue.length > MAX_QUEUE) {
        link.queue = [];
        link.needsSnapshot = true;
      }
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        for (const link of this.links.values()) void this.flush(link);
      });
    }
  }

  /**
   * Applies a batch from a peer; answers a joining peer with this replica's whole state. Throws
   * PeerCaMismatchError, applying nothing, when the peer's CA root is not this replica's.
   */
  receive(batch: PeerBatch): PeerReply {
    if (batch.ca !== this.opts.caFingerprint()) throw new PeerCaMismatchError(batch.from, batch.ca, this.opts.caFingerprint());
    if (batch.from === this.id) return { replica: this.id };
    const refused = this.apply(batch);
    return { replica: this.id, ...(refused.length ? { refused } : {}), ...(batch.snapshot?.joining ? { snapshot: this.snapshot() } : {}) };
  }

  /** Applies every event; returns the config versions refused, with why. */
  private apply(batch: PeerBatch): { version: string; error: string }[] {
    const refused: { version: string; error: string }[] = [];
    for (const event of batch.events) {
      switch (event.type) {
        case 'register':
          this.registry.upsert(event.registration, Date.now() - (event.ageMs ?? 0));
          break;
        case 'leave':
          this.registry.remove(event.instance);
          break;
        case 'drain':
          this.registry.setDrained(event.instance, event.drained);
          break;
        case 'ack':
          this.registry.ack(event.instance, event.kind, event.state);
          break;
        case 'stream':
          this.registry.setStream(event.instance, event.replica, event.open);
          break;
        case 'config':
          try {
            if (batch.snapshot) this.snapshotConfig(event.entry, batch.snapshot);
            else this.store.adopt(event.entry);
          } catch (err) {
            refused.push({ version: event.entry.version, error: (err as Error).message });
            this.opts.log?.warn(
              { peer: batch.from, version: event.entry.version, err: (err as Error).message },
              'refused a config from a peer replica; the last good one stays',
            );
          }
          break;
      }
    }
    return refused;
  }

  status(): PeersView {
    return {
      replica: this.id,
      joined: this.joined,
      peers: [...this.links.values()].map((l) => ({
        url: l.url,
        replica: l.replica ?? null,
        state: l.self ? 'self' : l.up ? 'up' : 'down',
        queued: l.queue.length,
        batches: l.batches,
        failures: l.failures,
        lastError: l.lastError ?? null,
      })),
    };
  }

  /** A peer's config in a snapshot: an offer while joining, afterwards the later of the two wins. */
  private snapshotConfig(entry: PeerConfigEntry, peer: NonNullable<PeerBatch['snapshot']>): void {
    if (!this.joined) {
      this.offers.push({ entry, ...peer });
      return;
    }
    // A joining peer decides for itself, and announces its file if that is news.
    if (peer.joining) return;
    // Two replicas that drifted apart (a partition): the later change wins on both.
    if (!this.store.adopt(entry) && entry.version !== this.store.currentEntry().version)
      this.publish({ type: 'config', entry: this.store.currentEntry() });
  }

  /**
   * Settles this replica's config against the running replicas'. A restart or a new replica takes
   * the running config, with any `meshctl` change made since; a profile file the running replicas
   * never applied (a changed ConfigMap, a rollout) is news, and goes to them.
   */
  private join(): void {
    if (this.joined) return;
    this.joined = true;
    const mine = this.store.currentEntry();
    const offers = this.offers.splice(0);
    const running = offers.filter((o) => !o.joining);
    // A running replica past its first lease passed on every live proxy: no need to wait for one here.
    if (running.some((o) => o.complete)) this.push.markComplete();
    if (running.length === 0) {
      // Replicas starting at once with different files: each announces its own, and the later wins on all.
      if (offers.some((o) => o.entry.version !== mine.version)) this.publish({ type: 'config', entry: mine });
      return;
    }
    const latest = running
      .map((o) => o.entry)
      .reduce((a, b) => (b.appliedAt > a.appliedAt || (b.appliedAt === a.appliedAt && b.version > a.version) ? b : a));
    if (running.some((o) => o.fileVersions.includes(mine.version))) {
      this.store.adopt(latest, true);
    } else if (latest.version !== mine.version) {
      this.opts.log?.info(
        { version: mine.version, running: latest.version },
        'this replica brings a profile file the running replicas have not applied',
      );
      this.publish({ type: 'config', entry: mine });
    }
  }

  private snapshot(): PeerBatch {
    const now = Date.now();
    const events: PeerEvent[] = [];
    for (const p of this.registry.list()) {
      events.push({ type: 'register', registration: registrationOf(p), ageMs: Math.max(0, now - p.lastSeen) });
      if (p.streamAt) events.push({ type: 'stream', instance: p.instance, replica: p.streamAt, open: true });
      for (const kind of ['resources', 'endpoints'] as const) {
        const state = p.acks[kind];
        if (state) events.push({ type: 'ack', instance: p.instance, kind, state });
      }
    }
    for (const instance of this.registry.drainedInstances()) events.push({ type: 'drain', instance, drained: true });
    events.push({ type: 'config', entry: this.store.currentEntry() });
    return {
      from: this.id,
      ca: this.opts.caFingerprint(),
      snapshot: { joining: !this.joined, fileVersions: this.store.fileVersions(), complete: this.push.isComplete() },
      events,
    };
  }

  private async refresh(): Promise<void> {
    const urls = new Set((await this.opts.discover()).map((u) => u.replace(/\/+$/, '')));
    for (const url of urls) {
      if (!this.links.has(url))
        this.links.set(url, { url, self: false, up: false, busy: false, needsSnapshot: true, queue: [], lastSent: 0, batches: 0, failures: 0 });
    }
    for (const [url, link] of this.links) {
      if (urls.has(url)) continue;
      this.links.delete(url);
      if (link.replica) this.registry.dropStreamsAt(link.replica);
    }
  }

  private tick(): void {
    const keepalive = this.opts.keepaliveMs ?? 5_000;
    for (const link of this.links.values()) {
      if (link.needsSnapshot || link.queue.length > 0 || Date.now() - link.lastSent > keepalive) void this.flush(link);
    }
  }

  /** The dispatcher presenting this replica's current certificate. */
  private agent(): Agent {
    const own = this.opts.credentials();
    if (!own) throw new Error('this replica has no certificate yet (its CA is not loaded)');
    if (this.secure?.cert !== own.cert) {
      void this.secure?.agent.close();
      this.secure = { cert: own.cert, agent: controlPlaneAgent(own, controlPlaneIdFor(own.spiffeId)) };
    }
    return this.secure.agent;
  }

  /** Where the peer's mTLS port is: asked over its plain URL (the handshake then proves who answers). */
  private async mtlsUrlOf(link: PeerLink): Promise<string> {
    if (link.mtlsUrl) return link.mtlsUrl;
    const res = await request(`${link.url}/api/v1/mtls`, { dispatcher: this.plain, headersTimeout: 2_000, bodyTimeout: 2_000 });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET /api/v1/mtls answered ${res.statusCode}: ${text.slice(0, 300)}`);
    const { port, ca } = peerMtls.verify(JSON.parse(text), 'the mTLS port');
    // Said before any handshake: one with a replica of another root would only fail as "untrusted".
    if (ca !== this.opts.caFingerprint()) throw new PeerCaMismatchError(link.url, ca, this.opts.caFingerprint());
    return (link.mtlsUrl = mtlsUrl(link.url, port));
  }

  /** One batch in flight per peer, so a peer applies events in the order they happened here. */
  private async flush(link: PeerLink): Promise<void> {
    if (link.self || link.busy || this.stopped) return;
    link.busy = true;
    const batch: PeerBatch = link.needsSnapshot ? this.snapshot() : { from: this.id, ca: this.opts.caFingerprint(), events: link.queue.splice(0) };
    link.queue = [];
    // What happens while this batch is on its way queues behind it, a snapshot too: a snapshot holds
    // only what was known when it was made (events skipped until its answer came back were lost,
    // and with a handshake on the way that window is long enough to lose a proxy's stream and ACKs).
    link.needsSnapshot = false;
    link.lastSent = Date.now();
    try {
      const res = await request(`${await this.mtlsUrlOf(link)}/api/v1/peers/events`, {
        method: 'POST',
        dispatcher: this.agent(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
        headersTimeout: 2_000,
        bodyTimeout: 2_000,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}: ${text.slice(0, 300)}`);
      const reply = peerReply.verify(JSON.parse(text), 'the reply');
      link.batches++;
      if (reply.replica === this.id) {
        link.self = true;
        link.lastError = undefined;
        return;
      }
      // Another process answers at this address (the peer restarted): it needs everything again.
      const restarted = link.replica !== undefined && link.replica !== reply.replica;
      if (!link.up || restarted) this.opts.log?.info({ peer: link.url, replica: reply.replica }, 'peer replica connected');
      link.replica = reply.replica;
      link.up = true;
      link.needsSnapshot = restarted && !batch.snapshot;
      link.lastError = link.reported = undefined;
      for (const r of reply.refused ?? [])
        this.opts.log?.warn({ peer: link.url, version: r.version, err: r.error }, 'a peer replica refused a config version');
      if (reply.snapshot) this.apply(reply.snapshot);
    } catch (err) {
      // Said once per new reason, not on every retry, nor while joining (this replica's own address
      // answers nothing until it listens).
      if (this.joined && link.reported !== (err as Error).message) {
        link.reported = (err as Error).message;
        this.opts.log?.warn({ peer: link.url, err: link.reported }, 'peer replica unreachable or refusing');
      }
      link.up = false;
      link.mtlsUrl = undefined;
      link.needsSnapshot = true;
      link.queue = [];
      link.failures++;
      link.lastError = (err as Error).message;
      // Streams held by a replica we cannot reach are no longer known to be open.
      if (link.replica) this.registry.dropStreamsAt(link.replica);
    } finally {
      link.busy = false;
    }
  }
}

/**
 * Peer URLs from a static list and/or every address of a DNS name (on Kubernetes, a headless
 * Service over the control plane's pods, so a new pod is found within one refresh). The list may
 * include this replica: it recognises its own id in the answer and skips itself.
 */
/** A new id on every start: a peer that sees it change knows this replica lost its state. */
export function replicaId(): string {
  return `${hostname()}-${randomBytes(3).toString('hex')}`;
}

export function peerDiscovery(opts: { urls?: string[]; dns?: { host: string; port: number } }): () => Promise<string[]> {
  return async () => {
    const found = [...(opts.urls ?? [])];
    if (opts.dns) {
      const addresses = await lookup(opts.dns.host, { all: true }).catch((err: NodeJS.ErrnoException) => {
        // No pod behind the name yet (the first replica starting) is an empty list, not an error.
        if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return [];
        throw err;
      });
      for (const a of addresses) found.push(`http://${a.family === 6 ? `[${a.address}]` : a.address}:${opts.dns.port}`);
    }
    return found;
  };
}
