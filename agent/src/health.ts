// <state>/health.json: what `tether-agent health-check` (and Docker HEALTHCHECK) reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';

export const healthSchema = z.object({
  pid: z.number().int(),
  connected: z.boolean(),
  registered: z.boolean(),
  since: z.string().nullable(),
  last_heartbeat_at: z.string().nullable(),
  server: z.string(),
  heartbeat_interval_s: z.number().positive(),
  /** websocket or http_polling: the link in use. */
  transport: z.string().optional(),
  updated_at: z.string(),
});

export type Health = z.infer<typeof healthSchema>;

export function healthPath(stateDir: string): string {
  return join(stateDir, 'health.json');
}

export class HealthFile {
  #path: string;
  #health: Health;
  #writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string, server: string, heartbeatIntervalS: number) {
    this.#path = healthPath(stateDir);
    this.#health = {
      pid: process.pid,
      connected: false,
      registered: false,
      since: null,
      last_heartbeat_at: null,
      server,
      heartbeat_interval_s: heartbeatIntervalS,
      updated_at: new Date().toISOString(),
    };
  }

  update(change: Partial<Omit<Health, 'pid' | 'server' | 'updated_at'>>): Promise<void> {
    this.#health = { ...this.#health, ...change, updated_at: new Date().toISOString() };
    const snapshot = JSON.stringify(this.#health);
    this.#writing = this.#writing.then(() => writeFileAtomic(this.#path, snapshot)).catch(() => {});
    return this.#writing;
  }
}

export function readHealth(stateDir: string): Health {
  return healthSchema.parse(JSON.parse(readFileSync(healthPath(stateDir), 'utf8')));
}

/** null when healthy, else a one-line reason. */
export function unhealthyReason(health: Health, now = Date.now(), isAlive: (pid: number) => boolean = pidAlive): string | null {
  if (!isAlive(health.pid)) return `agent process ${health.pid} is not running`;
  if (!health.connected) return `not connected to ${health.server}`;
  if (!health.last_heartbeat_at) return 'connected but no heartbeat sent yet';
  const age = now - Date.parse(health.last_heartbeat_at);
  const limit = 3 * health.heartbeat_interval_s * 1000;
  if (age > limit) return `last heartbeat ${Math.round(age / 1000)} s ago (limit ${limit / 1000} s)`;
  return null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
