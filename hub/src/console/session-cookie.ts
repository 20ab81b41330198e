// The console's session: a stateless cookie signed by @fastify/cookie (HMAC-SHA256) with a key every
// hub derives alike (HKDF over the command-signing key, salted with the admin token's hash), so a
// session made on one hub works on the others and a new admin token ends them all. The value
// carries its own expiry; nothing is stored. Sign-out clears the cookie in the browser. A session
// opened by an operator account also carries the operator's name and a stamp of its password hash:
// console-auth.ts checks on each request that the account is still active with that password.
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CookieSerializeOptions } from '@fastify/cookie';

export interface Session {
  /** Random per sign-in: CSRF tokens are bound to it. */
  nonce: string;
  expiresAtMs: number;
  /** The operator who signed in, or null for the admin token. */
  operator: { name: string; stamp: string } | null;
}

export interface SessionCookie {
  /** `__Host-` prefixed over TLS (the browser then insists on Secure, Path=/ and no Domain). */
  readonly name: string;
  readonly lifetimeMs: number;
  issue(reply: FastifyReply, operator?: Session['operator']): Session;
  /** The request's valid, unexpired session, or null. */
  read(request: FastifyRequest): Session | null;
  clear(reply: FastifyReply): void;
}

const VALUE = /^v1\.(\d{13,16})\.([A-Za-z0-9_-]{22})(?:\.([a-z][a-z0-9_-]{0,63})\.([A-Za-z0-9_-]{16}))?$/;

export function sessionCookie(options: { tls: boolean; lifetimeMs: number; now?: () => number }): SessionCookie {
  const now = options.now ?? Date.now;
  const name = options.tls ? '__Host-tether_session' : 'tether_session';
  const attributes = (): CookieSerializeOptions => ({ path: '/', httpOnly: true, sameSite: 'strict', secure: options.tls, signed: true });
  return {
    name,
    lifetimeMs: options.lifetimeMs,
    issue(reply, operator = null) {
      const session: Session = { nonce: randomBytes(16).toString('base64url'), expiresAtMs: now() + options.lifetimeMs, operator };
      const who = operator ? `.${operator.name}.${operator.stamp}` : '';
      reply.setCookie(name, `v1.${session.expiresAtMs}.${session.nonce}${who}`, { ...attributes(), expires: new Date(session.expiresAtMs) });
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
      return { nonce: match[2]!, expiresAtMs, operator: match[3] && match[4] ? { name: match[3], stamp: match[4] } : null };
    },
    clear(reply) {
      reply.clearCookie(name, attributes());
    },
  };
}
