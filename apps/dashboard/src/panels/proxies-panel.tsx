// Proxies: every proxy with its mode, config version and ACK/NACK, certificate expiry, control-plane replica, breakers and ejected endpoints.
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import { ackText, expiresIn, shortVersion } from '../format';

export function ProxiesPanel({ snapshot }: { snapshot: DashboardSnapshot }) {
  const current = snapshot.configVersion;
  const inForce = (p: DashboardSnapshot['proxies'][number]) => p.acks.resources?.acked === true && p.configVersion === p.expectedVersion;
  return (
    <section id="proxies" aria-labelledby="proxies-title">
      <h2 id="proxies-title">Proxies</h2>
      <p class="hint">
        Config in force: <code data-testid="config-version">{shortVersion(current)}</code> (profile{' '}
        <strong data-testid="profile">{snapshot.profile}</strong>).{' '}
        <span data-testid="ack-summary">
          {snapshot.proxies.filter(inForce).length} of {snapshot.proxies.length} proxies run it (their service's resources ACKed).
        </span>
      </p>
      <div class="scroll" tabIndex={0} role="region" aria-label="Proxies table (scrolls sideways)">
        <table data-testid="proxies-table">
          <caption>Every registered proxy</caption>
          <thead>
            <tr>
              {[
                'instance',
                'service',
                'mode',
                'labels',
                'config',
                'state',
                'endpoints',
                'cert expires in',
                'control plane',
                'breakers',
                'ejected',
                'scrape',
              ].map((h) => (
                <th scope="col" key={h}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {snapshot.proxies.map((p) => {
              const acked = p.acks.resources?.acked === true;
              const running = inForce(p);
              return (
                <tr
                  key={p.instance}
                  data-proxy={p.instance}
                  data-config={p.configVersion ?? ''}
                  data-in-force={String(running)}
                  data-drained={String(p.drained ?? false)}
                >
                  <th scope="row">
                    {p.instance}
                    {p.drained ? ' (drained)' : ''}
                  </th>
                  <td>{p.service}</td>
                  <td>{p.mode}</td>
                  <td>
                    {Object.entries(p.labels)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(' ')}
                  </td>
                  <td>
                    <code>{shortVersion(p.configVersion)}</code>
                  </td>
                  <td class={acked ? (running ? 'ok' : 'warn') : p.acks.resources ? 'bad' : 'warn'}>
                    {ackText(p)}
                    {acked && !running ? ' (an older version: the new one is on its way)' : ''}
                  </td>
                  <td>{!p.acks.endpoints ? 'pending' : p.acks.endpoints.acked ? 'ACK' : `NACK: ${p.acks.endpoints.error ?? ''}`}</td>
                  <td>{expiresIn(p.certNotAfter)}</td>
                  <td>{p.controlPlane ?? 'disconnected'}</td>
                  <td>
                    {p.breakers
                      .filter((b) => b.state !== 'closed')
                      .map((b) => `${b.cluster}: ${b.state}`)
                      .join(', ') || 'all closed'}
                  </td>
                  <td>{p.ejected.map((e) => `${e.instance} (${e.cluster})`).join(', ') || 'none'}</td>
                  <td class={p.scrapeError ? 'bad' : ''}>{p.scrapeError ?? (p.adminUrl ? 'ok' : 'no admin port')}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
