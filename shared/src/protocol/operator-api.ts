// Bodies of the operator account routes (POST/PATCH /api/operators) and the console sign-in.
import { z } from 'zod';

/** Lower-case, no dots: the name travels inside the signed session cookie, whose fields are dot-separated. */
export const operatorNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'an operator name is 1-64 lower-case letters, digits, "_" or "-", starting with a letter, e.g. "alice"');

export const operatorPasswordSchema = z.string().min(12, 'a password has at least 12 characters (a passphrase of a few words is fine)').max(1024, 'a password has at most 1024 characters');

export const createOperatorBodySchema = z.strictObject({ name: operatorNameSchema, password: operatorPasswordSchema });

export const updateOperatorBodySchema = z
  .strictObject({ status: z.enum(['active', 'disabled']).optional(), password: operatorPasswordSchema.optional() })
  .refine((body) => body.status !== undefined || body.password !== undefined, { message: 'give status ("active" or "disabled") or a new password' });

/** POST /api/console/session: the admin token, or an operator's name and password. */
export const signInBodySchema = z.union([
  z.object({ token: z.string().min(1, 'token must not be empty: paste the admin token from <data-dir>/admin-token').max(1000) }),
  z.object({ operator: z.string().min(1, 'give the operator name').max(64), password: z.string().min(1, 'give the password').max(1024) }),
]);

export type CreateOperatorBody = z.infer<typeof createOperatorBodySchema>;
export type UpdateOperatorBody = z.infer<typeof updateOperatorBodySchema>;
