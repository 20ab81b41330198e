// zod schemas on Fastify routes: validated once per request by the type provider's compiler
// (compiled at start-up, never per request); failures become the hub's 400 answers, which name the
// field and say what was wrong.
import { z } from 'zod';
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import { HttpError } from './http-error.ts';

export interface Issue {
  path: string;
  message: string;
}

/** The zod issue behind a Fastify validation error: its path as zod joins it ("events.0.line"). */
export function issuesOf(errors: readonly FastifySchemaValidationError[], whole = '(body)'): Issue[] {
  return errors.map((error) => ({ path: error.instancePath.split('/').filter(Boolean).join('.') || whole, message: error.message ?? 'invalid' }));
}

/** `invalid request body: <path>: <message>` with every issue in details. */
export function invalidBody(errors: readonly FastifySchemaValidationError[], dataVar: string): Error {
  const details = issuesOf(errors);
  const first = details[0]!;
  if (dataVar !== 'body') return new HttpError(400, `invalid ${dataVar}: ${first.path}: ${first.message}`, details);
  return new HttpError(400, `invalid request body: ${first.path}: ${first.message}`, details);
}

/** One 400 with a fixed message for any failure of this part (query strings that have one rule). */
export function fixedMessage(message: string) {
  return (): Error => new HttpError(400, message);
}

/** Issue messages joined by "; " (the release routes' style). */
export function joinedMessages(errors: readonly FastifySchemaValidationError[]): Error {
  return new HttpError(400, errors.map((error) => error.message ?? 'invalid').join('; '));
}

/** An absent body counts as `{}`, like an empty one. */
export function bodyOrEmpty<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => value ?? {}, schema);
}

/** The JSON bodies agents and operators send: any JSON object (routes validate the rest). */
export const jsonObjectSchema = z.record(z.string(), z.unknown(), 'the body must be a JSON object');
