// The console's session: a stateless cookie signed by @fastify/cookie (HMAC-SHA256) with a key every
// hub derives alike (HKDF over the command-signing key, salted with the admin token's hash), so a
// session made on one hub works on the others and a new admin token ends them all. The value
// carries its own expiry; nothing is stored. Sign-out clears the cookie in the browser.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';

export interface Session {
  /** Random per sign-in: CSRF tokens are bound to it. */
  nonce: string;
  expiresAtMs: number;
}

export interface SessionCookie {
  /** `__Host-` prefixed over TLS (the browser then insists on Secure, Path=/ and no Domain). */
  readonly name: string;
  readonly lifetimeMs: number;
  issue(reply: FastifyReply): Session;
  /** The request's valid, unexpired session, or null. */
  read(request: FastifyRequest): Session | null;
  clear(reply: FastifyReply): void;
}

const VALUE = /^v1\.(\d{13,16})\.([A-Za-z0-9_-]{22})$/;

export function sessionCookie(options: { tls: boolean; lifetimeMs: number; now?: () => number }): SessionCookie {
  const now = options.now ?? Date.now;
  const name = options.tls ? '__Host-tether_session' : 'tether_session';
  const attributes = (): CookieSerializeOptions => ({ path: '/', httpOnly: true, sameSite: 'strict', secure: options.tls, signed: true });
  return {
    name,
    lifetimeMs: options.lifetimeMs,
    issue(reply) {
      const session = { nonce: randomBytes(16).toString('base64url'), expiresAtMs: now() + options.lifetimeMs };
      reply.setCookie(name, `v1.${session.expiresAtMs}.${session.nonce}`, { ...attributes(), expires: new Date(session.expiresAtMs) });
      return session;
    },
    read(request) {
      const raw = request.cookies[name];
      if (!raw) return null;
      const unsigned = request.unsignCookie(raw);
      if (!unsigned.valid || unsigned.value === null) return null;
      const match = VALUE.exec(unsigned.value);
      if (!match) return null;
      const expiresAtMs = Number(match[1]);
      if (!(expiresAtMs > now())) return null;
      return { nonce: match[2]!, expiresAtMs };
    },
    clear(reply) {
      reply.clearCookie(name, attributes());
    },
  };
}
