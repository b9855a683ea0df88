import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A webhook receiver on 127.0.0.1 for alert deliveries: it records every request (headers, raw
 * body, when it arrived) and answers as `answer` says (200 by default). The tests, the e2e
 * journey and the alerts benchmark are its users.
 */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when the body had arrived. */
  at: number;
}

export class WebhookReceiver {
  received: ReceivedRequest[] = [];
  answer: (res: ServerResponse) => void = (res) => res.end('ok');
  url = '';
  private listeners = new Set<() => void>();
  private server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      for (const listener of this.listeners) listener();
      this.answer(res);
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/jobhealth`;
    return this;
  }

  /** Calls `listener` after each request arrives; returns its removal. */
  onRequest(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The JSON bodies received whose `type` is `type` (incident.opened, incident.resolved, test). */
  messages(type: string): { body: Record<string, unknown>; request: ReceivedRequest }[] {
    return this.received
      .map((request) => ({ request, body: JSON.parse(request.body) as Record<string, unknown> }))
      .filter((m) => m.body.type === type);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * What a receiver does with a Job Health webhook (docs/alerts.md): recompute the HMAC over
 * "<timestamp>.<raw body>", compare in constant time, and refuse a timestamp more than five
 * minutes from its own clock, so a captured request cannot be replayed later.
 */
export function verifyJobHealthSignature(secret: string, headers: IncomingHttpHeaders, rawBody: string, nowSeconds = Date.now() / 1000): boolean {
  const timestamp = String(headers['x-jobhealth-timestamp'] ?? '');
  const signature = String(headers['x-jobhealth-signature'] ?? '');
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}
