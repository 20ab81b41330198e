// REST calls to the hub's admin API (undici fetch). The token comes from --token,
// TETHER_ADMIN_TOKEN, or <--data-dir>/admin-token, in that order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetch } from 'undici';
import type { Command } from 'commander';
import { HubError, UsageError } from './usage-error.ts';
import { maskText } from '@tether/shared/redact.ts';
import { escapeControls } from '@tether/shared/terminal-text.ts';

export interface AdminOptions {
  hub?: string;
  token?: string;
  dataDir?: string;
  json?: boolean;
}

export const DEFAULT_HUB_URL = 'http://127.0.0.1:7070';

/** Adds the options every admin subcommand takes. */
export function withAdminOptions(command: Command): Command {
  return command
    .option('--hub <url>', `hub base URL (default: env TETHER_HUB_URL or ${DEFAULT_HUB_URL})`)
    .option('--token <token>', 'admin token (default: env TETHER_ADMIN_TOKEN, or <data-dir>/admin-token)')
    .option('--data-dir <dir>', "read the admin token from this hub data dir's admin-token file")
    .option('--json', 'print the raw JSON answer');
}

export class AdminClient {
  readonly baseUrl: string;
  private readonly token: string;

  constructor(options: AdminOptions, env: NodeJS.ProcessEnv = process.env) {
    const base = options.hub ?? env.TETHER_HUB_URL ?? DEFAULT_HUB_URL;
    try {
      const parsed = new URL(base);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error();
    } catch {
      throw new UsageError(`--hub must be an http(s) URL such as ${DEFAULT_HUB_URL} (got ${JSON.stringify(maskText(base))})`);
    }
    this.baseUrl = base.replace(/\/+$/, '');
    this.token = resolveToken(options, env);
  }

  /** Calls the API; answers with the status and parsed body. 4xx/5xx become HubError unless allowed. */
  async request(method: string, path: string, body?: unknown, allowStatuses: number[] = []): Promise<{ status: number; body: any }> {
    let response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new HubError(`cannot reach the hub at ${maskText(this.baseUrl)}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`);
    }
    const text = await response.text();
    let parsed: any = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: text };
    }
    if (response.status >= 400 && !allowStatuses.includes(response.status)) {
      // The hub's error text can quote what an agent or key holder sent: one escaped line.
      throw new HubError(`hub answered ${response.status}: ${escapeControls(String(parsed?.error ?? text))}`);
    }
    return { status: response.status, body: parsed };
  }

  async *events(path: string, signal?: AbortSignal): AsyncGenerator<ServerSentEvent> {
    let response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, { headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' }, signal });
    } catch (error) {
      if (signal?.aborted) return;
      throw new HubError(`cannot reach the hub at ${maskText(this.baseUrl)}: ${(error as Error).message}`);
    }
    if (response.status >= 400 || !response.body) throw new HubError(`hub answered ${response.status}: ${escapeControls(await response.text())}`);
    try {
      yield* readServerSentEvents(response.body);
    } catch (error) {
      if (!signal?.aborted) throw error;
    }
  }
}

export interface ServerSentEvent {
  event: string;
  data: string;
}

export interface EventStreamOwner {
  /** Server-sent events of a GET, until the hub ends the stream or `signal` aborts. */
  events(path: string, signal?: AbortSignal): AsyncGenerator<ServerSentEvent>;
}

/** Reads `event:` / `data:` blocks of a text/event-stream body (comments and ids are skipped). */
export async function* readServerSentEvents(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of chunks) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}

function resolveToken(options: AdminOptions, env: NodeJS.ProcessEnv): string {
  if (options.token) return options.token;
  if (env.TETHER_ADMIN_TOKEN) return env.TETHER_ADMIN_TOKEN;
  if (options.dataDir) {
    const file = join(options.dataDir, 'admin-token');
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      throw new UsageError(`cannot read the admin token from ${file}; is --data-dir the hub's data directory?`);
    }
  }
  throw new UsageError('no admin token: pass --token, set TETHER_ADMIN_TOKEN, or pass --data-dir of the hub');
}
