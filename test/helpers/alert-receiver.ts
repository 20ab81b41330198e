// A webhook receiver for alert tests: a real local HTTP server that checks each notice's
// HMAC-SHA256 signature (docs/alerts.md) the way a receiver should: over the raw body, in constant
// time, with a fresh timestamp. It can refuse the very first delivery (500) so a retry must follow.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedNotice {
  event: string;
  kind: string;
  incident_key: string;
  sequence: number;
  summary: string;
  delivery_id: string;
  /** The signature verified. */
  signed: boolean;
}

export interface AlertReceiver {
  url: string;
  received: ReceivedNotice[];
  close(): Promise<void>;
}

export async function startAlertReceiver(secret: string, options: { failFirst?: boolean } = {}): Promise<AlertReceiver> {
  const received: ReceivedNotice[] = [];
  let refuseNext = options.failFirst === true;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(request.headers['x-tether-timestamp'] ?? '');
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
      const presented = Buffer.from(String(request.headers['x-tether-signature'] ?? ''));
      const signed = presented.length === expected.length && timingSafeEqual(presented, expected) && Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
      const notice = JSON.parse(body) as ReceivedNotice;
      assert.equal(request.headers['x-tether-delivery'], notice.delivery_id);
      assert.equal(request.headers['x-tether-event'], notice.event);
      received.push({ ...notice, signed });
      if (refuseNext) {
        refuseNext = false;
        response.writeHead(500).end('try again');
      } else response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/tether`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Distinct notices (a retry repeats the delivery id) of one incident and event. */
export function notices(received: readonly ReceivedNotice[], incident: string, event: 'alert' | 'recovery'): ReceivedNotice[] {
  const byDelivery = new Map(received.filter((notice) => notice.incident_key === incident && notice.event === event).map((notice) => [notice.delivery_id, notice]));
  return [...byDelivery.values()];
}
