// The artifact manifest: written last, atomically, next to the artifact. No manifest = no artifact.
import { z } from 'zod';

export const ARTIFACT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}-\d{8}T\d{6}Z-[a-f0-9]{8}$/;
export const artifactIdSchema = z.string().regex(ARTIFACT_ID_PATTERN, 'an artifact id looks like "<target>-20261122T040000Z-1a2b3c4d" (see backup_list)');

/** What a restore test compares, recorded at backup time. */
export const artifactChecksSchema = z.object({
  /** Rows per table in the dump ("schema.table" for PostgreSQL, "table" for MariaDB and SQLite). */
  row_counts: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Files artifacts: how many files the sha256 list (the archive's last entry, named `list`) holds. */
  files: z.object({ count: z.number().int().nonnegative(), list: z.string() }).optional(),
});
export type ArtifactChecks = z.infer<typeof artifactChecksSchema>;

/** One restore test of this artifact (backup_verify {restore: true} or a verify: schedule). */
export const verifyResultSchema = z.object({
  ok: z.boolean(),
  at: z.string(),
  duration_ms: z.number().int().nonnegative(),
  /** What was checked, in words: "sha256", "restored into a scratch database", "12 tables' row counts", … */
  checked: z.array(z.string()),
  problems: z.array(z.string()),
  /** Agent id of the host that ran it (the backup host, or a verify host). */
  by: z.string().optional(),
});
export type VerifyResult = z.infer<typeof verifyResultSchema>;

export const manifestSchema = z.object({
  id: artifactIdSchema,
  target: z.string(),
  kind: z.enum(['files', 'postgres', 'mysql', 'sqlite', 'command']),
  /** The artifact's file name inside the target directory, e.g. "<id>.tar.zst.age". */
  file: z.string(),
  /** Bytes of the artifact as stored (compressed, encrypted). */
  size: z.number().int().nonnegative(),
  /** Bytes the source produced before compression. */
  source_bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  encrypted: z.boolean(),
  recipients: z.array(z.string()),
  compression: z.object({ algorithm: z.enum(['zstd', 'gzip', 'none']), level: z.number().int().optional() }),
  tool_versions: z.record(z.string(), z.string()),
  started_at: z.string(),
  finished_at: z.string(),
  created_at: z.string(),
  /** Where the artifact lives: "local:<absolute path>". */
  location: z.string(),
  uploads: z.array(z.object({ destination: z.enum(['hub', 's3']), location: z.string(), uploaded_at: z.string() })).default([]),
  /** What the operator should know about this artifact, e.g. files that changed while read. Absent when none. */
  warnings: z.array(z.string()).optional(),
  checks: artifactChecksSchema.optional(),
  /** false when the bytes are not on this host (streamed to the hub, or a spooled copy uploaded and removed). */
  stored_locally: z.boolean().default(true),
  /** Set while a `destination: "hub"` backup that could not reach the hub waits here to be uploaded. */
  pending_upload: z.literal('hub').optional(),
  /** The latest restore test, when one ran on this host. */
  last_verify: verifyResultSchema.optional(),
});

/** At most this many warnings are kept in a manifest; the last one says how many more there were. */
export const MAX_MANIFEST_WARNINGS = 100;

export function capWarnings(warnings: string[]): string[] {
  if (warnings.length <= MAX_MANIFEST_WARNINGS) return warnings;
  return [...warnings.slice(0, MAX_MANIFEST_WARNINGS - 1), `and ${warnings.length - MAX_MANIFEST_WARNINGS + 1} more`];
}

export type Manifest = z.infer<typeof manifestSchema>;

/** The artifact result of protocol.md section 5. */
export interface ArtifactResult {
  id: string;
  target: string;
  size: number;
  sha256: string;
  encrypted: boolean;
  created_at: string;
  location: string;
  [key: string]: unknown;
}

export function artifactResult(manifest: Manifest, location = manifest.location): ArtifactResult {
  return {
    id: manifest.id,
    target: manifest.target,
    size: manifest.size,
    sha256: manifest.sha256,
    encrypted: manifest.encrypted,
    created_at: manifest.created_at,
    location,
    ...(manifest.warnings ? { warnings: manifest.warnings } : {}),
  };
}
