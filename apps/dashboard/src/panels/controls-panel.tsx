// Controls: switch profile, add or clear a fault on a service, drain an instance. Each is an operator's change; the log says what it did.
import type { DashboardSnapshot } from '@meshcart/control-plane-api';
import type { Fault } from '@meshcart/mesh-config';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { shortVersion } from '../format';
import { ChangeLog, logLine, refusal, type LogLine } from './change-log';

interface Props {
  snapshot: DashboardSnapshot;
  log: LogLine[];
  report: (l: LogLine) => void;
}

export function ControlsPanel({ snapshot, log, report }: Props) {
  const services = [...new Set(snapshot.nodes.filter((n) => n.kind === 'service').map((n) => n.service))];
  const instances = snapshot.proxies.filter((p) => p.mode !== 'edge').map((p) => p.instance);
  const [profiles, setProfiles] = useState<string[]>([]);
  const [profile, setProfile] = useState('');
  const [service, setService] = useState('');
  const [kind, setKind] = useState<'abort' | 'delay'>('abort');
  const [status, setStatus] = useState(503);
  const [delayMs, setDelayMs] = useState(200);
  const [percent, setPercent] = useState(100);
  const [instance, setInstance] = useState('');

  useEffect(() => {
    api.profiles().then(setProfiles, (err) => report(refusal('Listing the profiles', err)));
  }, []);

  const run = async (action: string, fn: () => Promise<string>) => {
    try {
      report(logLine(true, `${action}: ${await fn()}`));
    } catch (err) {
      report(refusal(action, err));
    }
  };
  const target = service || services[0] || '';
  const chosenProfile = profile || profiles.find((p) => p !== snapshot.profile) || profiles[0] || '';
  const drainee = instance || instances[0] || '';

  const switchProfile = (e: Event) => {
    e.preventDefault();
    void run(`Profile ${chosenProfile}`, async () => {
      const r = await api.useProfile(chosenProfile);
      return `version ${shortVersion(r.version)} in force, ${r.changes.length} knob(s) changed; the Proxies panel shows each proxy ACK it.`;
    });
  };
  const setFault = (e: Event) => {
    e.preventDefault();
    const fault: Fault = kind === 'abort' ? { abort: { httpStatus: status, percent } } : { delay: { fixedDelayMs: delayMs, percent } };
    const what = kind === 'abort' ? `abort ${status} on ${percent}%` : `delay ${delayMs} ms on ${percent}%`;
    void run(`Fault on ${target} (${what})`, async () => `version ${shortVersion((await api.setFault(target, fault)).version)} in force`);
  };
  const clearFault = () =>
    void run(`Fault cleared on ${target}`, async () => `version ${shortVersion((await api.clearFault(target)).version)} in force`);
  const drain = (e: Event) => {
    e.preventDefault();
    void run(
      `Drain ${drainee}`,
      async () => (await api.drain(drainee), `${drainee} left every endpoint list and stays out until undrained (it keeps its config)`),
    );
  };
  const undrain = () =>
    void run(`Undrain ${drainee}`, async () => (await api.undrain(drainee), `${drainee} is back in the endpoint lists of its callers`));
  const num = (set: (n: number) => void) => (e: Event) => set(Number((e.target as HTMLInputElement).value));

  const faults = Object.entries(snapshot.faults);
  return (
    <section id="controls" aria-labelledby="controls-title">
      <h2 id="controls-title">Controls</h2>
      <p class="hint">Each change needs the operator credential (above) when the control plane asks for one; refusals show its reason.</p>
      <div class="forms">
        <form onSubmit={switchProfile} aria-label="Switch profile">
          <h3>Profile</h3>
          <label for="profile">Profile to apply</label>
          <select id="profile" value={chosenProfile} onChange={(e) => setProfile((e.target as HTMLSelectElement).value)}>
            {profiles.map((p) => (
              <option key={p} value={p}>
                {p}
                {p === snapshot.profile ? ' (in force)' : ''}
              </option>
            ))}
          </select>
          <button type="submit">Switch profile</button>
        </form>

        <form onSubmit={setFault} aria-label="Fault injection">
          <h3>Fault</h3>
          <label for="fault-service">Service</label>
          <select id="fault-service" value={target} onChange={(e) => setService((e.target as HTMLSelectElement).value)}>
            {services.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <fieldset>
            <legend>Kind</legend>
            <label>
              <input type="radio" name="fault-kind" value="abort" checked={kind === 'abort'} onChange={() => setKind('abort')} /> abort
            </label>
            <label>
              <input type="radio" name="fault-kind" value="delay" checked={kind === 'delay'} onChange={() => setKind('delay')} /> delay
            </label>
          </fieldset>
          {kind === 'abort' ? (
            <>
              <label for="fault-status">HTTP status</label>
              <input id="fault-status" type="number" min={200} max={599} value={status} onInput={num(setStatus)} />
            </>
          ) : (
            <>
              <label for="fault-delay">Delay (ms)</label>
              <input id="fault-delay" type="number" min={0} max={600000} value={delayMs} onInput={num(setDelayMs)} />
            </>
          )}
          <label for="fault-percent">Percent of requests</label>
          <input id="fault-percent" type="number" min={0} max={100} value={percent} onInput={num(setPercent)} />
          <div class="buttons">
            <button type="submit">Add fault</button>
            <button type="button" onClick={clearFault}>
              Clear fault
            </button>
          </div>
          <p class="hint" data-testid="faults">
            In force: {faults.length === 0 ? 'no faults' : faults.map(([s, f]) => `${s} ${JSON.stringify(f)}`).join('; ')}
          </p>
        </form>

        <form onSubmit={drain} aria-label="Drain an instance">
          <h3>Drain</h3>
          <label for="drain-instance">Instance</label>
          <select id="drain-instance" value={drainee} onChange={(e) => setInstance((e.target as HTMLSelectElement).value)}>
            {instances.map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
          <button type="submit">Drain instance</button>{' '}
          <button type="button" onClick={undrain}>
            Undrain
          </button>
        </form>
      </div>
      <h3>What changed</h3>
      <ChangeLog lines={log} />
    </section>
  );
}
