import { UsageError } from './usage-error.ts';

export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535 (got ${JSON.stringify(text)})`);
  return port;
}

export function parsePermissions(text: string): string[] {
  const names = text
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) throw new UsageError(`--permissions: "${name}" is not a command name; use e.g. ping,echo,info`);
  }
  return names;
}

export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${what} must be JSON, e.g. '{"message":"hi"}'`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${what} must be a JSON object, e.g. '{"message":"hi"}'`);
  return value as Record<string, unknown>;
}

export function parseSeconds(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 300) throw new UsageError(`${what} must be a number of seconds from 0 to 300`);
  return value;
}
