// Every error the HTTP layer answers, in the hub's `{ error, details? }` form with a message that says
// how to fix the request: thrown HttpErrors, validation failures (formatted per route), unknown
// paths (404), known paths with another method (405), bad URLs, malformed requests, and anything
// unexpected (500, logged).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Socket } from 'node:net';
import type { Logger } from '@tether/shared/logger.ts';
import { HttpError, sendError } from './http-error.ts';
import { pathOf } from './request-path.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The HttpError to answer for any error a route, hook or Fastify itself raised. */
export function toHttpError(error: FastifyError | HttpError | Error, request: FastifyRequest, log: Logger): HttpError {
  if (error instanceof HttpError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new HttpError(415, 'the Content-Type header is malformed; send Content-Type: application/json');
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return new HttpError(400, 'the request body is not as long as its Content-Length says');
  if (fastifyError.code === 'FST_CSRF_INVALID_TOKEN' || fastifyError.code === 'FST_CSRF_MISSING_SECRET') {
    return new HttpError(
      403,
      'CSRF token missing or wrong: a console session must send X-CSRF-Token with the token from GET /api/console/session (the console does; scripts use the bearer token instead)',
    );
  }
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) return new HttpError(fastifyError.statusCode, fastifyError.message);
  log.error({ err: error, method: request.method, path: pathOf(request) }, 'request failed');
  return new HttpError(500, 'internal error; see the hub log');
}

export function answerError(error: FastifyError | HttpError | Error, request: FastifyRequest, reply: FastifyReply, log: Logger): FastifyReply {
  return sendError(reply, toHttpError(error, request, log));
}

/** Installs the error and not-found answers on the root instance. */
export function installErrorAnswers(app: FastifyInstance, log: Logger): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => answerError(error, request, reply, log));
  app.setNotFoundHandler(async (request) => {
    throw new HttpError(404, `no such endpoint: ${request.method} ${pathOf(request)}`);
  });
}

/**
 * A path that exists with other methods is answered 405, as before (Fastify answers 404): call
 * before the routes are registered, then call the returned function after them.
 */
export function methodNotAllowedRoutes(app: FastifyInstance): () => void {
  const methodsByUrl = new Map<string, Set<string>>();
  app.addHook('onRoute', (route: RouteOptions) => {
    if (route.url.includes('*')) return;
    const methods = methodsByUrl.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    if (methods.has('GET')) methods.add('HEAD');
    methodsByUrl.set(route.url, methods);
  });
  return () => {
    for (const [url, methods] of methodsByUrl) {
      const others = METHODS.filter((method) => !methods.has(method));
      if (others.length === 0) continue;
      app.route({
        method: others,
        url,
        handler: async (request) => {
          throw new HttpError(405, `${request.method} is not allowed on ${pathOf(request)}`);
        },
      });
    }
  };
}

/** Fastify's own request errors (bad percent-encoding, over-long path segment) in the hub's words. */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const refusal =
    error.code === 'FST_ERR_BAD_URL' ? new HttpError(400, 'malformed percent-encoding in the URL') : new HttpError(error.statusCode ?? 400, `the URL is not acceptable: ${error.message}`);
  void sendError(reply, refusal);
}

/** A request Node cannot parse: a bare 400 and the connection closed, as before Fastify. */
export function clientErrorHandler(_error: Error, socket: Socket): void {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  else socket.destroy();
}
