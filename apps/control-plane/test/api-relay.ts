// A loopback relay in front of a control plane: records every call that crosses it (hiding the mTLS port from leases), and may rewrite push lines on their way to a proxy.
import { ContractCheck, ControlPlaneMtls, controlPlaneAgent, mtlsUrl } from '@meshcart/control-plane-api';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
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

/** A control plane's certificate (sa/control-plane) from the test's CA: with it the relay also relays the mTLS port replicas use. */
export interface RelayIdentity {
  key: string;
  cert: string;
  ca: string;
  spiffeId: string;
}

/**
 * `rewrite` turns one pushed line into the lines the proxy gets instead (the same line by default);
 * it may return them later (a promise), holding that line and every one after it back: a proxy that lags.
 * With `mtls`, the relay answers GET /api/v1/mtls with a port of its own, where it takes mTLS calls
 * (a replica's) and passes them to the target's mTLS port presenting that identity. `hold` delays a
 * call before it is passed on (ms; a slow network, or a handshake under load), or fails it (502).
 */
export async function startApiRelay(
  target: string,
  rewrite: (line: string) => string[] | Promise<string[]> = (line) => [line],
  mtls?: RelayIdentity,
  hold: (method: string, path: string) => number | 'fail' = () => 0,
): Promise<ApiRelay> {
  const calls: RelayedCall[] = [];
  const pushed: string[] = [];
  const upstreams = new Set<AbortController>();
  let streams = 0;
  let tlsPort = 0;
  let targetCa = '';
  let secureTarget: { base: string; dispatcher: Dispatcher } | undefined;
  const relay = async (req: IncomingMessage, res: ServerResponse, secure: boolean) => {
    if (secure && !secureTarget) {
      const answer = new ContractCheck(ControlPlaneMtls).verify(await (await request(`${target}/api/v1/mtls`)).body.json(), 'the mTLS port');
      targetCa = answer.ca;
      secureTarget = {
        base: mtlsUrl(target, answer.port),
        dispatcher: controlPlaneAgent(mtls!, mtls!.spiffeId),
      };
    }
    if (!secure && mtls && req.url === '/api/v1/mtls') {
      targetCa ||= ((await (await request(`${target}/api/v1/mtls`)).body.json()) as { ca: string }).ca;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ port: tlsPort, ca: targetCa }));
    }
    const delay = hold(req.method ?? '', req.url ?? '');
    if (delay === 'fail') return void res.writeHead(502).end();
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    const base = secure ? secureTarget!.base : target;
    const dispatcher = secure ? secureTarget!.dispatcher : undefined;
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
      const upstream = await request(`${base}${req.url}`, {
        method,
        headers,
        body: body || undefined,
        signal: abort.signal,
        bodyTimeout: 0,
        dispatcher,
      });
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
            for (const out of await rewrite(line)) res.write(`${out}\n`);
          }
        }
        res.end();
        return;
      }
      let answer = await upstream.body.text();
      // A lease names the control plane's mTLS port, where a proxy with a certificate would go
      // instead, past the relay: the relay leaves it out, so every call stays where it is seen.
      if (req.method === 'PUT' && /^\/api\/v1\/proxies\/[^/]+$/.test(req.url ?? '') && upstream.statusCode === 200) {
        const { tlsPort: _hidden, ...lease } = JSON.parse(answer) as { tlsPort?: number };
        answer = JSON.stringify(lease);
      }
      calls.push({ method: req.method ?? '', path: req.url ?? '', body, status: upstream.statusCode, answer });
      const type = upstream.headers['content-type'];
      res.writeHead(upstream.statusCode, typeof type === 'string' ? { 'content-type': type } : {});
      res.end(answer);
    } catch {
      // The control plane went away, or the proxy did: the proxy's side of it is what is under test.
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  };
  const server = createServer((req, res) => void relay(req, res, false));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const secureServer =
    mtls && createHttpsServer({ key: mtls.key, cert: mtls.cert, ca: mtls.ca, requestCert: true }, (req, res) => void relay(req, res, true));
  if (secureServer) {
    await new Promise<void>((resolve) => secureServer.listen(0, '127.0.0.1', resolve));
    tlsPort = (secureServer.address() as AddressInfo).port;
  }
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    pushed,
    streams: () => streams,
    close: () =>
      new Promise((resolve) => {
        for (const abort of upstreams) abort.abort();
        secureServer?.close();
        secureServer?.closeAllConnections();
        void (secureTarget?.dispatcher as { close?: () => Promise<void> } | undefined)?.close?.();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
