// A request's path and URL as the hub's messages and the `?api_key=` rule see them.
import type { FastifyRequest } from 'fastify';

/** The path without the query string, as the client sent it. */
export function pathOf(request: FastifyRequest): string {
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
}

/** The request's URL (only its path and query are meaningful). */
export function requestUrl(request: FastifyRequest): URL {
  return new URL(request.url, 'http://hub.invalid');
}
