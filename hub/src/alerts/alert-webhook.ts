// Sends one alert notice to the webhook: a JSON POST, signed with HMAC-SHA256 when a secret is set
// (`X-Tether-Signature: sha256=<hex of HMAC(secret, "<X-Tether-Timestamp>.<body>")>`), retried with
// full-jitter backoff on network errors, timeouts, 5xx, 408 and 429, at most `max_attempts` times.
// Every attempt carries the same X-Tether-Delivery id, so a receiver can drop repeats. Logs name
// the webhook by its origin only; the secret is never logged.
import { createHmac } from 'node:crypto';
import { fetch } from 'undici';
import { Backoff } from '@tether/shared/backoff.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { AlertDelivery, AlertNotice } from '@tether/shared/protocol/alert-views.ts';
import type { AlertSettings } from './alert-settings.ts';
import { webhookOrigin } from './alert-settings.ts';

const ATTEMPT_TIMEOUT_MS = 10_000;
const RETRY_STATUSES = new Set([408, 429]);

export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface AlertWebhookOptions {
  /** First backoff window (default 1 s, doubling up to 30 s). */
  backoffBaseMs?: number;
}

export class AlertWebhook {
  readonly #settings: AlertSettings;
  readonly #log: Logger;
  readonly #origin: string;
  readonly #backoffBaseMs: number;
  readonly #stop = new AbortController();

  constructor(settings: AlertSettings, log: Logger, options: AlertWebhookOptions = {}) {
    this.#settings = settings;
    this.#log = log;
    this.#origin = webhookOrigin(settings.webhook_url);
    this.#backoffBaseMs = options.backoffBaseMs ?? 1000;
  }

  async deliver(notice: AlertNotice): Promise<AlertDelivery> {
    const body = JSON.stringify(notice);
    const backoff = new Backoff({ baseMs: this.#backoffBaseMs, capMs: 30_000 });
    let status: number | null = null;
    let error: string | null = null;
    let attempts = 0;
    while (attempts < this.#settings.max_attempts && !this.#stop.signal.aborted) {
      attempts += 1;
      ({ status, error } = await this.#attempt(notice, body));
      if (error === null) {
        this.#log.info({ webhook: this.#origin, event: notice.event, incident: notice.incident_key, attempts, status }, 'alert notice delivered');
        return { ok: true, attempts, at: new Date().toISOString(), status, error: null };
      }
      const retry = status === null || status >= 500 || RETRY_STATUSES.has(status);
      this.#log.warn({ webhook: this.#origin, event: notice.event, incident: notice.incident_key, attempt: attempts, status, err: error, retry }, 'alert notice not delivered');
      if (!retry) break;
      if (attempts < this.#settings.max_attempts) await this.#sleep(backoff.next());
    }
    this.#log.error({ webhook: this.#origin, event: notice.event, incident: notice.incident_key, attempts, status, err: error }, 'alert notice given up; GET /api/alerts shows it');
    return { ok: false, attempts, at: new Date().toISOString(), status, error };
  }

  /** Stops retrying (hub shutting down); deliveries in flight end with what they have. */
  close(): void {
    this.#stop.abort();
  }

  async #attempt(notice: AlertNotice, body: string): Promise<{ status: number | null; error: string | null }> {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'tether-hub',
      'x-tether-event': notice.event,
      'x-tether-delivery': notice.delivery_id,
      'x-tether-timestamp': timestamp,
    };
    if (this.#settings.secret !== undefined) headers['x-tether-signature'] = signature(this.#settings.secret, timestamp, body);
    try {
      const response = await fetch(this.#settings.webhook_url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), this.#stop.signal]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { status: response.status, error: null };
      return { status: response.status, error: `the webhook answered HTTP ${response.status}` };
    } catch (failure) {
      const cause = (failure as Error).cause instanceof Error ? ((failure as Error).cause as Error).message : (failure as Error).message;
      return { status: null, error: `could not reach the webhook: ${cause}` };
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#stop.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
