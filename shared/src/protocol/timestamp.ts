import { z } from 'zod';

/** Parses ISO-8601; a timestamp without a zone is UTC (micro-hack sends naive UTC). */
export function parseTimestamp(text: string): number {
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(text);
  return Date.parse(hasZone ? text : `${text}Z`);
}

export const timestampSchema = z.string().refine((text) => Number.isFinite(parseTimestamp(text)), { message: 'must be an ISO-8601 timestamp, e.g. 2026-11-22T04:34:36Z' });

export function nowIso(): string {
  return new Date().toISOString();
}
