// The `backup:` section of the agent config. The hub only ever names a target; every path,
// program, database and credential comes from here, the host's own file.
import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { parseCron } from './schedule/cron.ts';

/** Target names travel from the hub and may land in argv and paths: never a leading `-` or `.`. */
export const TARGET_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const targetNameSchema = z.string().regex(TARGET_NAME_PATTERN, 'a target name is 1-64 lower-case letters, digits, "_" or "-", starting with a letter or digit');

const absolutePathSchema = z
  .string()
  .min(1)
  .refine((value) => isAbsolute(value), { message: 'must be an absolute path such as /srv/data' })
  .refine((value) => !value.split('/').includes('..'), { message: 'must not contain ".." segments; write the real path' })
  .transform((value) => (value === '/' ? value : normalize(value).replace(/\/+$/, '')));

/** A program the agent runs: an absolute path or a bare name looked up in PATH. Never from the network. */
const programSchema = z
  .string()
  .min(1)
  .refine((value) => isAbsolute(value) || /^[A-Za-z0-9_.+-]+$/.test(value), {
    message: 'must be an absolute path or a bare program name such as pg_dump',
  });

const databaseNameSchema = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_$.-]{0,62}$/, 'a database name is letters, digits, "_", "$", "." or "-", not starting with "-"');

const ageRecipientSchema = z
  .string()
  .trim()
  .regex(/^age1[02-9ac-hj-np-z]{58}$/, 'an age recipient is an X25519 public key such as age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p (see `age-keygen`)');

const retentionSchema = z.object({
  /** Keep at most this many artifacts per target (newest first). */
  keep: z.number().int().min(1).max(100_000).optional(),
  /** Remove artifacts older than this many days. */
  max_age_days: z.number().positive().max(36_500).optional(),
});

/** Five-field cron (minute hour day-of-month month day-of-week), e.g. "15 3 * * *". */
const cronSchema = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    try {
      parseCron(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (five fields: minute hour day month weekday, e.g. "15 3 * * *")` });
    }
  });

const secretSourceFields = {
  /** Name of an environment variable that holds the password. */
  password_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .optional(),
  /** A file (0600) whose first line is the password. */
  password_file: absolutePathSchema.optional(),
};

/** A restore test of the target's newest artifact (runs where backup.identity_file is set). */
const verifySchema = z.object({
  /** When to run it, five-field cron like schedule:. Without one it runs only when asked (backup_verify {restore: true}). */
  schedule: cronSchema.optional(),
  /** Database targets: a query run in the restored scratch copy; its first column must be a number > 0. */
  sql: z.string().trim().min(1, 'verify.sql is a query such as "select count(*) from orders"').max(10_000).optional(),
});

const commonTargetFields = {
  schedule: cronSchema.optional(),
  verify: verifySchema.optional(),
  /** The hub flags this target when its newest good backup is older than this many hours. */
  alert_after_h: z.number().positive().max(87_600).optional(),
  retention: retentionSchema.optional(),
  /** Overrides the section's local dir for this target. */
  dir: absolutePathSchema.optional(),
};

const filesTargetSchema = z.object({
  kind: z.literal('files'),
  /** Directories (or files) to archive. Stored as paths relative to `/`; symlinks stored as links. */
  roots: z.array(absolutePathSchema).min(1, 'list at least one root directory'),
  /** Glob patterns (path.matchesGlob) matched against absolute paths, e.g. "/srv/app/cache/**". */
  excludes: z.array(z.string().min(1)).default([]),
  ...commonTargetFields,
});

const postgresTargetSchema = z
  .object({
    kind: z.literal('postgres'),
    /** postgres://user@host:port. A password in the URL is moved to PGPASSWORD, never put in argv. */
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL such as postgres://backup@127.0.0.1:5432')
      .optional(),
    databases: z.array(databaseNameSchema).min(1, 'list at least one database'),
    format: z.enum(['plain', 'custom']).default('plain'),
    /** Single-database targets only: the database `restore` writes into (default: the same one). */
    restore_database: databaseNameSchema.optional(),
    pg_dump: programSchema.default('pg_dump'),
    pg_restore: programSchema.default('pg_restore'),
    psql: programSchema.default('psql'),
    ...secretSourceFields,
    ...commonTargetFields,
  })
  .refine((target) => target.databases.length === 1 || target.format === 'plain', {
    message: 'format "custom" holds one database; use one target per database or format "plain"',
    path: ['format'],
  });

const mysqlTargetSchema = z.object({
  kind: z.literal('mysql'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65_535).default(3306),
  user: z.string().min(1).default('root'),
  /** A socket path instead of host/port. */
  socket: absolutePathSchema.optional(),
  databases: z.array(databaseNameSchema).min(1, 'list at least one database'),
  restore_database: databaseNameSchema.optional(),
  /** mariadb-dump or mysqldump. */
  dump: programSchema.default('mariadb-dump'),
  client: programSchema.default('mariadb'),
  ...secretSourceFields,
  ...commonTargetFields,
});

const sqliteTargetSchema = z.object({
  kind: z.literal('sqlite'),
  path: absolutePathSchema,
  ...commonTargetFields,
});

const commandTargetSchema = z.object({
  kind: z.literal('command'),
  /** argv whose stdout is the dump; no shell. */
  argv: z
    .array(z.string())
    .min(1)
    .refine((argv) => programSchema.safeParse(argv[0]).success, {
      message: 'argv[0] must be an absolute path or a bare program name',
    }),
  /** Optional argv that reads a dump on stdin, used by `restore`. */
  restore_argv: z.array(z.string()).min(1).optional(),
  /** Extra environment for both argvs (values are treated as secrets in logs). */
  env: z.record(z.string(), z.string()).default({}),
  /** File extension of the dump inside the artifact name. */
  extension: z
    .string()
    .regex(/^[a-z0-9]{1,10}$/)
    .default('out'),
  ...commonTargetFields,
});

export const backupTargetSchema = z.discriminatedUnion('kind', [filesTargetSchema, postgresTargetSchema, mysqlTargetSchema, sqliteTargetSchema, commandTargetSchema]);

/**
 * Where restore tests put their scratch copies. PostgreSQL and MariaDB: a server where the agent
 * may CREATE and DROP databases (default: the target's own connection); files and SQLite: a
 * directory (default: a private temp dir).
 */
const scratchSchema = z.object({
  postgres: z
    .object({
      url: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL such as postgres://verify@127.0.0.1:5432')
        .optional(),
      psql: programSchema.default('psql'),
      pg_restore: programSchema.default('pg_restore'),
      ...secretSourceFields,
    })
    .optional(),
  mysql: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(1).max(65_535).default(3306),
      user: z.string().min(1).default('root'),
      socket: absolutePathSchema.optional(),
      client: programSchema.default('mariadb'),
      ...secretSourceFields,
    })
    .optional(),
  dir: absolutePathSchema.optional(),
});

export const backupConfigSchema = z.object({
  /** Recipients the artifacts are encrypted to. Empty = unencrypted (allowed, logged as a warning). */
  recipients: z.array(ageRecipientSchema).default([]),
  compression: z
    .object({
      algorithm: z.enum(['zstd', 'gzip', 'none']).default('zstd'),
      /** zstd 1-19 (default 3), gzip 1-9 (default 6). */
      level: z.number().int().min(1).max(19).optional(),
    })
    .default({ algorithm: 'zstd' }),
  /** Local artifact store; artifacts go to <dir>/<target>/. Default <state_dir>/backups. */
  dir: absolutePathSchema.optional(),
  retention: retentionSchema.default({ keep: 7 }),
  /** `restore` is refused unless this is true. */
  restore_enabled: z.boolean().default(false),
  /** age identity file (AGE-SECRET-KEY-1…), needed by restore and full verify. */
  identity_file: absolutePathSchema.optional(),
  /** How often a spooled `destination: "hub"` backup (made while the hub was unreachable) retries its upload. */
  spool_retry_s: z.number().int().min(1).max(86_400).default(60),
  /** Scratch servers and directory for restore tests (backup_verify {restore: true}, verify:). */
  scratch: scratchSchema.default({}),
  /** Largest artifact uploaded to the hub, in bytes (the hub enforces its own limit too). */
  upload_max_bytes: z.number().int().positive().optional(),
  /** Smallest S3 multipart part (grows so that any artifact fits in 10,000 parts). S3 itself needs ≥ 5 MiB. */
  s3_part_min_bytes: z
    .number()
    .int()
    .min(64 * 1024, 's3_part_min_bytes is at least 65536 (S3 itself needs 5242880)')
    .default(5 << 20),
  targets: z
    .record(z.string(), backupTargetSchema)
    .default({})
    .superRefine((targets, ctx) => {
      for (const name of Object.keys(targets)) {
        if (!TARGET_NAME_PATTERN.test(name)) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'a target name is 1-64 lower-case letters, digits, "_" or "-", starting with a letter or digit' });
        }
      }
    }),
});

export type BackupConfig = z.infer<typeof backupConfigSchema>;
export type BackupTarget = z.infer<typeof backupTargetSchema>;
export type FilesTarget = z.infer<typeof filesTargetSchema>;
export type PostgresTarget = z.infer<typeof postgresTargetSchema>;
export type MysqlTarget = z.infer<typeof mysqlTargetSchema>;
export type SqliteTarget = z.infer<typeof sqliteTargetSchema>;
export type CommandTarget = z.infer<typeof commandTargetSchema>;
export type ScratchConfig = z.infer<typeof scratchSchema>;

/** The `backup:` section, spread into the agent's config schema (agent/src/config.ts). */
export const backupConfigShape = { backup: backupConfigSchema.default(backupConfigSchema.parse({})) };
