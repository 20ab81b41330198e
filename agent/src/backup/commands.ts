// The backup command definitions (protocol.md section 5): backup, backup_list, backup_verify,
// backup_prune, restore, backup_download. The hub names targets and artifact ids, nothing else.
// The work itself lives in handlers.ts, imported on first use to keep the idle agent small.
import { z } from 'zod';
import type { CommandDefinition } from '../commands/command.ts';
import type { BackupConfig } from './config-schema.ts';
import { targetNameSchema } from './config-schema.ts';
import { artifactIdSchema } from './manifest.ts';

export const destinationSchema = z.enum(['local', 'hub', 's3'], { message: 'destination is "local" (default), "hub" or "s3" (through URLs the hub presigns)' }).default('local');
export type Destination = z.infer<typeof destinationSchema>;

const LONG_TIMEOUT_S = 6 * 3600;

const verifyParamsSchema = z
  .object({
    id: artifactIdSchema,
    restore: z.boolean().optional(),
    key_id: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/, 'key_id is the agent key id that owns the artifact on the hub')
      .optional(),
    from: z.enum(['hub', 's3'], { message: 'from is "hub" (default) or "s3"' }).optional(),
    sql: z.string().trim().min(1).max(10_000).optional(),
  })
  .refine((value) => value.key_id === undefined || value.restore === true, { message: "key_id (a verify host testing another key's artifact) needs restore: true" })
  .refine((value) => (value.from === undefined && value.sql === undefined) || value.key_id !== undefined, {
    message: "from and sql are for a verify host: give key_id too (a local test uses the target's verify.sql)",
  });
export type VerifyParams = z.infer<typeof verifyParamsSchema>;

const loadHandlers = () => import('./handlers.ts');

export function createBackupCommands(config: BackupConfig): CommandDefinition[] {
  const backup: CommandDefinition<{ target: string; destination: Destination }> = {
    name: 'backup',
    permission: 'backup',
    lane: 'normal',
    params: z.object({ target: targetNameSchema, destination: destinationSchema }),
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      return (await loadHandlers()).backup(config, params, context);
    },
  };

  const backupList: CommandDefinition<{ target?: string | undefined }> = {
    name: 'backup_list',
    permission: 'backup_read',
    lane: 'priority',
    effectFree: true,
    params: z.object({ target: targetNameSchema.optional() }),
    async run(params, context) {
      return (await loadHandlers()).backupList(config, params, context);
    },
  };

  const backupVerify: CommandDefinition<VerifyParams> = {
    name: 'backup_verify',
    permission: 'backup_read',
    lane: 'normal',
    // restore: true restores into a scratch database or directory and compares (docs/backup.md);
    // key_id makes this host a verify host for another key's artifact, fetched from the hub or S3.
    params: verifyParamsSchema,
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      return (await loadHandlers()).backupVerify(config, params, context);
    },
  };

  const backupPrune: CommandDefinition<{ target: string; keep?: number | undefined; max_age_days?: number | undefined }> = {
    name: 'backup_prune',
    permission: 'backup',
    lane: 'normal',
    params: z
      .object({ target: targetNameSchema, keep: z.number().int().min(0).max(100_000).optional(), max_age_days: z.number().positive().optional() })
      .refine((value) => value.keep !== undefined || value.max_age_days !== undefined, { message: 'give keep (artifacts to keep) or max_age_days' }),
    async run(params, context) {
      return (await loadHandlers()).backupPrune(config, params, context);
    },
  };

  const restore: CommandDefinition<{ id: string; target: string }> = {
    name: 'restore',
    permission: 'restore',
    lane: 'normal',
    params: z.object({ id: artifactIdSchema, target: targetNameSchema }),
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      return (await loadHandlers()).restore(config, params, context);
    },
  };

  const backupDownload: CommandDefinition<{ id: string; destination: 'hub' | 's3' }> = {
    name: 'backup_download',
    permission: 'backup_read',
    lane: 'normal',
    params: z.object({ id: artifactIdSchema, destination: z.enum(['hub', 's3'], { message: 'destination is "hub" (default) or "s3"' }).default('hub') }),
    defaultTimeoutS: LONG_TIMEOUT_S,
    async run(params, context) {
      return (await loadHandlers()).backupDownload(config, params, context);
    },
  };

  return [backup, backupList, backupVerify, backupPrune, restore, backupDownload];
}
