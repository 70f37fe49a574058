// Proxies: every proxy with its mode, config version and ACK/NACK, certificate expiry, control-plane replica, breakers and ejected endpoints.
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import { ackText, expiresIn, shortVersion } from '../format';

export function ProxiesPanel({ snapshot }: { snapshot: DashboardSnapshot }) {
  const current = snapshot.configVersion;
  return (
    <section id="proxies" aria-labelledby="proxies-title">
      <h2 id="proxies-title">Proxies</h2>
      <p class="hint">
        Config in force: <code data-testid="config-version">{shortVersion(current)}</code> (profile{' '}
        <strong data-testid="profile">{snapshot.profile}</strong>).{' '}
        <span data-testid="ack-summary">
          {snapshot.proxies.filter((p) => p.configVersion === current && p.acks.resources?.acked).length} of {snapshot.proxies.length} proxies ACKed
          it.
        </span>
      </p>
      <div class="scroll">
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
              const inForce = acked && p.configVersion === current;
              return (
                <tr key={p.instance} data-proxy={p.instance} data-config={p.configVersion ?? ''} data-acked={String(acked)}>
                  <th scope="row">{p.instance}</th>
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
                  <td class={acked ? (inForce ? 'ok' : 'warn') : p.acks.resources ? 'bad' : 'warn'}>{ackText(p)}</td>
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
