// The outcome of the last update or redeploy, written by the supervisor to
// <state>/update-outcome.json, sent to the hub with the next `register` (update_outcome) and
// set aside once the hub has answered `registered`.
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { updateOutcomeSchema } from '@tether/shared/protocol/agent-messages.ts';
import type { z } from 'zod';
import { OUTCOME_FILE } from '@tether/shared/release/state-files.ts';

export type UpdateOutcome = z.infer<typeof updateOutcomeSchema>;

export class UpdateOutcomeReport {
  readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, OUTCOME_FILE);
  }

  /** The outcome not yet reported, if any (an unreadable file counts as none). */
  pending(): UpdateOutcome | undefined {
    try {
      const parsed = updateOutcomeSchema.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  /** The hub has it: keep it for inspection as update-outcome.reported.json. */
  reported(): void {
    try {
      renameSync(this.path, this.path.replace(/\.json$/, '.reported.json'));
    } catch {
      // Already set aside, or never there.
    }
  }
}
