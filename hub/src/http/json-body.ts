// Request bodies are JSON whatever the Content-Type says (micro-hack and curl users do not always
// send one), at most 1 MiB, and read only by routes that have a body schema: a route without one
// never reads its body, as before the move to Fastify. An empty body counts as `{}`.
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-error.ts';

/** 1 MiB: the largest request body the hub reads. */
export const MAX_BODY_BYTES = 1024 * 1024;

const tooLarge = () => new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes; send less`);

/** Event-based rather than `for await`: this runs on every hot POST, and async iteration costs more. */
function readBody(payload: IncomingMessage): Promise<string> {
  const declared = Number(payload.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        stop();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}

export async function parseJsonBody(payload: IncomingMessage): Promise<unknown> {
  const text = await readBody(payload);
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON; send a JSON object with Content-Type: application/json');
  }
}

/** Replaces Fastify's parsers in this plugin's scope by the JSON-for-everything one. */
export function useJsonBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (request: FastifyRequest, payload: IncomingMessage, done: (error: Error | null, body?: unknown) => void) => {
    // No schema, no reading: Node discards the body once the answer is sent.
    if (request.routeOptions.schema?.body === undefined) return done(null, undefined);
    parseJsonBody(payload).then(
      (body) => done(null, body),
      (error: Error) => done(error),
    );
  });
}

/** For streamed uploads: the request stays unread for the handler (no parser consumes it). */
export function useRawBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request: FastifyRequest, _payload: IncomingMessage, done: (error: Error | null, body?: unknown) => void) => done(null, undefined));
}
