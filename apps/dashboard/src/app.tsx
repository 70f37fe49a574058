// The dashboard page: the live feed's snapshot drawn by each panel, the operator credential, the log of changes made here.
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import { useEffect, useState } from 'preact/hooks';
import { CredentialForm } from './credential-form';
import { openFeed, type FeedState } from './live-feed';
import type { LogLine } from './panels/change-log';
import { ConfigPanel } from './panels/config-panel';
import { ControlsPanel } from './panels/controls-panel';
import { LabsPanel, TapPanel } from './panels/labs-panel';
import { ProxiesPanel } from './panels/proxies-panel';
import { TopologyPanel } from './panels/topology-panel';

const SECTIONS = [
  ['topology', 'Topology'],
  ['proxies', 'Proxies'],
  ['config', 'Config'],
  ['controls', 'Controls'],
  ['labs', 'Labs'],
  ['tap', 'Tap & traces'],
] as const;

export function App() {
  const [snapshot, setSnapshot] = useState<DashboardSnapshot>();
  const [feed, setFeed] = useState<FeedState>({ status: 'connecting' });
  const [log, setLog] = useState<LogLine[]>([]);
  // A new credential may open a stream the old one could not (MESH_API_READS=authenticated).
  const [credentialEpoch, setCredentialEpoch] = useState(0);

  useEffect(() => openFeed(setSnapshot, setFeed), [credentialEpoch]);
  const report = (l: LogLine) => setLog((old) => [l, ...old].slice(0, 50));

  return (
    <>
      <header>
        <h1>MeshCart</h1>
        <p class={`feed feed-${feed.status}`} data-testid="feed-state" aria-live="polite">
          {feed.status === 'live'
            ? `live · every ${(snapshot?.intervalMs ?? 2000) / 1000} s`
            : feed.status === 'connecting'
              ? 'connecting…'
              : `stream lost: ${feed.message}`}
        </p>
        <CredentialForm onChange={() => setCredentialEpoch((n) => n + 1)} />
        <nav aria-label="Panels">
          {SECTIONS.map(([id, title]) => (
            <a key={id} href={`#${id}`}>
              {title}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {!snapshot ? (
          <p>Waiting for the first snapshot from the control plane…</p>
        ) : (
          <>
            <TopologyPanel snapshot={snapshot} />
            <ProxiesPanel snapshot={snapshot} />
            <ConfigPanel version={snapshot.configVersion} profile={snapshot.profile} report={report} />
            <ControlsPanel snapshot={snapshot} log={log} report={report} />
          </>
        )}
        <LabsPanel />
        <TapPanel />
      </main>
    </>
  );
}
