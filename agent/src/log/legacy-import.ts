// Versions before the command log kept <state>/outbox/<seq>.json (responses not yet acked),
// <state>/journal.jsonl (finished commands) and <state>/running/<hash>.json (markers). At start the
// agent takes them into the log (nothing is lost on upgrade) and leaves the files where they are,
// untouched, for journal.retention_h: a version rolled back to in that time still finds its own
// stores. A fingerprint (names, sizes, times) in log/legacy-import.json tells whether they changed
// since (an older version ran in between): then they are imported again, skipping what the log
// knows. After the retention they are removed.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { responseSchema } from '@tether/shared/protocol/agent-messages.ts';
import type { ResponseMessage } from '@tether/shared/protocol/agent-messages.ts';
import type { CommandLog, JournalEntry } from './command-log.ts';
import type { RunningMarker } from './records.ts';

const outboxFileSchema = z.object({ command_id: z.string().min(1), message: responseSchema });
const journalLineSchema = z.object({ command_id: z.string().min(1), finished_at: z.number(), response: responseSchema });
const markerFileSchema = z.object({ command_id: z.string().min(1), command: z.string(), job_id: z.string().optional(), started_at: z.string() });
const importRecordSchema = z.object({ imported_at: z.number(), fingerprint: z.string() });

const OUTBOX_FILE = /^\d{12}\.json$/;

interface LegacyPaths {
  outbox: string;
  journal: string;
  running: string;
  record: string;
}

function pathsOf(stateDir: string, logDir: string): LegacyPaths {
  return { outbox: join(stateDir, 'outbox'), journal: join(stateDir, 'journal.jsonl'), running: join(stateDir, 'running'), record: join(logDir, 'legacy-import.json') };
}

function listNames(dir: string, pattern: RegExp): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => pattern.test(name))
      .sort();
  } catch {
    return [];
  }
}

/** Changes whenever an older version wrote to its stores. */
function fingerprint(paths: LegacyPaths): string | null {
  const outbox = listNames(paths.outbox, OUTBOX_FILE);
  const running = listNames(paths.running, /\.json$/);
  const journal = existsSync(paths.journal) ? statSync(paths.journal) : null;
  if (outbox.length === 0 && running.length === 0 && !journal) return null;
  return JSON.stringify({ outbox, running, journal: journal ? [journal.size, journal.mtimeMs] : null });
}

function readJson<T>(path: string, schema: z.ZodType<T>, log: Logger): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (parsed.success) return parsed.data;
    log.warn({ path, why: parsed.error.message }, 'legacy import: skipped an unreadable file (left in place)');
  } catch (error) {
    log.warn({ path, why: (error as Error).message }, 'legacy import: skipped an unreadable file (left in place)');
  }
  return null;
}

function readLegacy(paths: LegacyPaths, log: Logger): { journal: JournalEntry[]; outbox: Array<{ commandId: string; message: ResponseMessage }>; markers: RunningMarker[] } {
  const journal = new Map<string, JournalEntry>();
  if (existsSync(paths.journal)) {
    let bad = 0;
    for (const line of readFileSync(paths.journal, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const parsed = journalLineSchema.safeParse(JSON.parse(line));
        if (!parsed.success) throw new Error(parsed.error.message);
        journal.set(parsed.data.command_id, parsed.data); // the last line of a command wins, as before
      } catch {
        bad += 1; // a torn last line, or damage: the good lines are kept
      }
    }
    if (bad > 0) log.warn({ path: paths.journal, bad_lines: bad, kept: journal.size }, 'legacy import: skipped unreadable journal lines');
  }
  const outbox = listNames(paths.outbox, OUTBOX_FILE)
    .map((name) => readJson(join(paths.outbox, name), outboxFileSchema, log))
    .filter((item) => item !== null)
    .map((item) => ({ commandId: item.command_id, message: item.message }));
  const markers = listNames(paths.running, /\.json$/)
    .map((name) => readJson(join(paths.running, name), markerFileSchema, log))
    .filter((item) => item !== null);
  return { journal: [...journal.values()], outbox, markers };
}

/** Imports (or re-imports, or finally removes) the stores of a version before the log. */
export async function importLegacyStores(stateDir: string, commandLog: CommandLog, retentionMs: number, log: Logger, now = Date.now()): Promise<void> {
  const paths = pathsOf(stateDir, commandLog.dir);
  const current = fingerprint(paths);
  if (current === null) return;
  const record = existsSync(paths.record) ? readJson(paths.record, importRecordSchema, log) : null;
  if (record?.fingerprint === current) {
    if (now - record.imported_at < retentionMs) return;
    for (const path of [paths.outbox, paths.running, paths.journal]) rmSync(path, { recursive: true, force: true });
    rmSync(paths.record, { force: true });
    log.info({ state_dir: stateDir }, 'legacy import: removed outbox/, running/ and journal.jsonl of the version before the command log (imported one retention period ago)');
    return;
  }
  const legacy = readLegacy(paths, log);
  const added = await commandLog.adopt(legacy);
  writeFileAtomicSync(paths.record, JSON.stringify({ imported_at: now, fingerprint: current }));
  log.info(
    { journal: legacy.journal.length, outbox: legacy.outbox.length, running: legacy.markers.length, added },
    'legacy import: took outbox/, journal.jsonl and running/ into the command log (the files stay for a rollback until the journal retention has passed)',
  );
}
