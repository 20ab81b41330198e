// The console's built files (console/dist, made by Vite) at `/`, from this process, with a strict
// Content-Security-Policy: scripts and styles only from the hub itself, no inline script, no
// framing. Only the files that exist at start are routes (no wildcard), so unknown /api paths keep
// their JSON 404 and the agents' paths are untouched.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Logger } from '@tether/shared/logger.ts';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** The repository's console/dist, or the one beside the bundled hub (dist/console; this code may sit in dist/chunks/). */
export function defaultConsoleDirCandidates(): string[] {
  return ['../../../console/dist', './console', '../console'].map((path) => fileURLToPath(new URL(path, import.meta.url)));
}

export async function consoleStaticFiles(app: FastifyInstance, deps: { dirs: string[]; log: Logger }): Promise<void> {
  const root = deps.dirs.find((dir) => existsSync(join(dir, 'index.html')));
  if (!root) {
    deps.log.warn({ looked_in: deps.dirs }, 'the console is not built: GET / explains how to build it');
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .headers(SECURITY_HEADERS)
        .type('text/plain; charset=utf-8')
        .send('The tether console is not built. Run `npm run build -w @tether/console` (npm test and npm start do it), then restart the hub.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // Hashed asset names can be cached for good; index.html must be fetched fresh to see new ones.
    setHeaders(reply, path) {
      reply.headers(SECURITY_HEADERS);
      reply.header('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
  deps.log.debug({ root }, 'serving the console');
}
