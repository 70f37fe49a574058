// Labs and the live tap: the workshop labs (meshctl lab keeps their state on your machine) and the place a request tap and traces will go.

/** The labs at the time of writing; `npx meshctl lab list` has the current list and your progress. */
const LABS = [
  { id: '02-connection-reuse', title: 'Connection reuse: one request per connection versus pooled keep-alive' },
  { id: '10-the-whole-case', title: 'The whole case: tune the baseline to 5 ms → 2 ms and +30% throughput' },
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
