import { z } from 'zod';

/** Error codes of a failed `response` (protocol.md section 3). */
export const ERROR_CODES = ['unknown_command', 'permission_denied', 'invalid_params', 'busy', 'timeout', 'cancelled', 'expired', 'bad_signature', 'not_supported', 'failed'] as const;

export const errorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof errorCodeSchema>;
