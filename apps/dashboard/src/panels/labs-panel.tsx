// Labs and the live tap: the workshop labs (meshctl lab keeps their state on your machine) and the place a request tap and traces will go.

/** The labs, as `npx meshctl lab list` lists them (a meshctl test holds this list to it); meshctl keeps your progress. */
const LABS = [
  { id: '01-sidecar-tax', title: 'The sidecar tax: the same call with the mesh off, through a sidecar, and proxyless' },
  { id: '02-connection-reuse', title: 'Connection reuse: one request per connection versus pooled keep-alive' },
  { id: '03-mtls-cost', title: 'The price of mTLS: RSA-2048 against ECDSA P-256 handshakes' },
  { id: '04-retry-storms', title: 'Retry storms: a retry budget and backoff cap what retries add to a failing dependency' },
  { id: '05-circuit-breaking', title: 'Circuit breaking: fail fast while payment is down, and recover after sleepWindow' },
  { id: '06-outlier-detection', title: 'Outlier detection and load balancing: a slow and an unhealthy replica' },
  { id: '07-canary-release', title: 'Canary release: header first, then 10%, at the gateway and between services' },
  { id: '08-fault-injection-timeouts', title: 'Fault injection and timeouts: a delay shows a timeout set wrong' },
  { id: '09-zero-trust', title: 'Zero trust: default-deny, and the one rule the shop is missing' },
  { id: '10-the-whole-case', title: 'The whole case: from the baseline to 5 ms → 2 ms and +30% throughput' },
];

export function LabsPanel() {
  return (
    <section id="labs" aria-labelledby="labs-title">
      <h2 id="labs-title">Labs</h2>
      <p class="hint">
        Hands-on exercises against this mesh. Their progress is kept by <code>npx meshctl lab</code> on your machine; the guides are in{' '}
        <code>docs/labs/</code>.
      </p>
      <ul>
        {LABS.map((l) => (
          <li key={l.id}>
            <code>npx meshctl lab start {l.id}</code>: {l.title}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function TapPanel() {
  return (
    <section id="tap" aria-labelledby="tap-title">
      <h2 id="tap-title">Live tap and traces</h2>
      <p class="hint">Coming: the requests crossing a proxy as they happen, and each request's path hop by hop.</p>
    </section>
  );
}
