// A marker per normal-lane command while it runs. One left over at start-up means the agent
// stopped mid-command: that command is answered `failed` ("interrupted"), never run a second time.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { setAside } from './state.ts';

const markerSchema = z.object({
  command_id: z.string().min(1),
  command: z.string(),
  job_id: z.string().optional(),
  started_at: z.string(),
});

export type RunningMarker = z.infer<typeof markerSchema>;

export class RunningMarkers {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, 'running');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** Command ids come from the network: the file name is a hash, never the id itself. */
  #fileFor(commandId: string): string {
    return join(this.dir, `${createHash('sha256').update(commandId).digest('hex').slice(0, 32)}.json`);
  }

  async mark(marker: RunningMarker): Promise<void> {
    await writeFileAtomic(this.#fileFor(marker.command_id), JSON.stringify(marker));
  }

  async clear(commandId: string): Promise<void> {
    await rm(this.#fileFor(commandId), { force: true });
  }

  /** Markers left by a previous run; unreadable ones are set aside. */
  leftovers(log: Logger): RunningMarker[] {
    const found: RunningMarker[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const file = join(this.dir, name);
      try {
        const parsed = markerSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (!parsed.success) throw new Error(parsed.error.message);
        found.push(parsed.data);
      } catch (error) {
        setAside(file, log, (error as Error).message);
      }
    }
    return found;
  }
}
