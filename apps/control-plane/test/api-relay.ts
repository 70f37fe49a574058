// A loopback relay in front of a control plane: records every call that crosses it, and may rewrite push lines on their way to a proxy.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, type Dispatcher } from 'undici';

export interface RelayedCall {
  method: string;
  path: string;
  body: string;
  status: number;
  answer: string;
}

export interface ApiRelay {
  url: string;
  calls: RelayedCall[];
  /** Every push line the control plane sent, before any rewrite. */
  pushed: string[];
  /** Push streams opened through the relay: a proxy that gave up on one opens another. */
  streams: () => number;
  close: () => Promise<void>;
}

/** `rewrite` turns one pushed line into the lines the proxy gets instead (the same line by default). */
export async function startApiRelay(target: string, rewrite: (line: string) => string[] = (line) => [line]): Promise<ApiRelay> {
  const calls: RelayedCall[] = [];
  const pushed: string[] = [];
  const upstreams = new Set<AbortController>();
  let streams = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const abort = new AbortController();
    upstreams.add(abort);
    res.on('close', () => {
      abort.abort();
      upstreams.delete(abort);
    });
    try {
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'authorization']) if (typeof req.headers[name] === 'string') headers[name] = req.headers[name];
      const method = req.method as Dispatcher.HttpMethod;
      const upstream = await request(`${target}${req.url}`, { method, headers, body: body || undefined, signal: abort.signal, bodyTimeout: 0 });
      if (req.url?.endsWith('/stream') && upstream.statusCode === 200) {
        streams++;
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        let buffered = '';
        for await (const chunk of upstream.body) {
          buffered += (chunk as Buffer).toString('utf8');
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            pushed.push(line);
            for (const out of rewrite(line)) res.write(`${out}\n`);
          }
        }
        res.end();
        return;
      }
      const answer = await upstream.body.text();
      calls.push({ method: req.method ?? '', path: req.url ?? '', body, status: upstream.statusCode, answer });
      const type = upstream.headers['content-type'];
      res.writeHead(upstream.statusCode, typeof type === 'string' ? { 'content-type': type } : {});
      res.end(answer);
    } catch {
      // The control plane went away, or the proxy did: the proxy's side of it is what is under test.
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    pushed,
    streams: () => streams,
    close: () =>
      new Promise((resolve) => {
        for (const abort of upstreams) abort.abort();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
