// Hub admin REST API bodies (protocol.md section 8).
import { z } from 'zod';
import { keySelectorSchema, labelsSchema } from './labels.ts';

export const permissionNameSchema = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a permission is a lower-case command name such as "ping" or "backup_read"');

export const createKeyBodySchema = z.object({
  name: z.string().min(1, 'name must not be empty').max(200),
  permissions: z.array(permissionNameSchema).max(100).optional(),
  /** name → value, e.g. {"env":"prod","role":"db"}: what fleet commands select keys by. */
  labels: labelsSchema.optional(),
});

export const updateKeyBodySchema = z
  .object({
    name: z.string().min(1).max(200).optional(),
    permissions: z.array(permissionNameSchema).max(100).optional(),
    status: z.enum(['active', 'disabled']).optional(),
    /** Replaces the key's whole label set ({} removes every label). */
    labels: labelsSchema.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one of name, permissions, status, labels' });

/** POST /api/commands: one command to every key a selector picks (a fleet command). */
export const fleetCommandBodySchema = z.strictObject({
  selector: keySelectorSchema,
  command: z.string().min(1).max(100),
  data: z.record(z.string(), z.unknown()).optional(),
  /** How many targets run at once (default 100). */
  concurrency: z.number().int().min(1).max(100_000).optional(),
  /** Seconds from now after which targets that have not started are expired (offline agents included). */
  deadline_s: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
  timeout_s: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
});
export type FleetCommandBody = z.infer<typeof fleetCommandBodySchema>;

export const sendCommandBodySchema = z.object({
  command: z.string().min(1).max(100),
  data: z.record(z.string(), z.unknown()).optional(),
  wait_s: z.number().min(0).max(300).optional(),
  timeout_s: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
  deadline_s: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
});

export const keyStatusSchema = z.enum(['active', 'disabled']);

export type CreateKeyBody = z.infer<typeof createKeyBodySchema>;
export type UpdateKeyBody = z.infer<typeof updateKeyBodySchema>;
export type SendCommandBody = z.infer<typeof sendCommandBodySchema>;
