// Errors that say how to fix the request, answered as `{ error, details? }`, and the JSON answer
// every route uses.
import type { FastifyReply } from 'fastify';
import { TetherError } from '@tether/shared/errors.ts';

export class HttpError extends TetherError {
  readonly status: number;
  /** The same status under the name Fastify reads (and may set: a plain field, not a getter). */
  statusCode: number;
  readonly details: unknown;
  /** Extra response headers, e.g. Retry-After on a 429. */
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, details?: unknown, headers: Record<string, string> = {}) {
    super(`TETHER_ERR_HTTP_${status}`, message);
    this.name = 'HttpError';
    this.status = status;
    this.statusCode = status;
    this.details = details;
    this.headers = headers;
  }
}

export function errorBody(error: HttpError): { error: string; details?: unknown } {
  return error.details === undefined ? { error: error.message } : { error: error.message, details: error.details };
}

/** JSON with `cache-control: no-store`; the headers in the order the hub has always sent them. */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  const text = JSON.stringify(body);
  // The audit trail reads a few fields of the answer (audit-trail.ts): handed over, not parsed back.
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) reply.request.auditAnswer = body as Record<string, unknown>;
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').header('content-length', Buffer.byteLength(text)).header('cache-control', 'no-store').send(text);
}

export function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return sendJson(reply, error.status, errorBody(error));
}
