// The backup sinks' HTTP client: undici's `request` through one proxy-aware dispatcher
// (EnvHttpProxyAgent: HTTP(S)_PROXY / NO_PROXY), loaded on first use. undici is about half a
// megabyte of code that a local `backup run` never calls; importing it up front cost ~0.2 s of
// every run's start (issue 13, PostgreSQL backup time against `pg_dump | zstd`).
import type { Dispatcher } from 'undici';

type Undici = typeof import('undici');
type RequestOptions = Omit<NonNullable<Parameters<Undici['request']>[1]>, 'dispatcher'>;

let client: Promise<{ request: Undici['request']; dispatcher: Dispatcher }> | undefined;

export async function httpRequest(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData<unknown>> {
  client ??= import('undici').then((undici) => ({ request: undici.request, dispatcher: new undici.EnvHttpProxyAgent() }));
  const { request, dispatcher } = await client;
  return request(url, { ...options, dispatcher });
}
