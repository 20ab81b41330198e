// Staged rollouts (POST /api/rollouts, docs/api.md "Releases and rollouts"): a release version to
// the keys a selector picks, first to `canaries` hosts, then to the rest within the in-flight limit.
import { z } from 'zod';
import { isValidVersion } from '../release/versions.ts';
import { keySelectorSchema } from './labels.ts';

export const ROLLOUT_DEFAULTS = { canaries: 1, max_in_flight_percent: 10, host_timeout_s: 900 } as const;

export const startRolloutBodySchema = z.strictObject({
  version: z.string().max(100).refine(isValidVersion, 'version must be an exact semver version such as 1.4.0 (a published one: GET /api/releases)'),
  selector: keySelectorSchema,
  /** Hosts updated first, all at once; the rest wait until every canary has updated. */
  canaries: z.number().int().min(0, 'canaries is 0 or more').max(10_000).optional(),
  /** Of all hosts, how many percent update at once after the canaries (at least one host). */
  max_in_flight_percent: z.number().int().min(1, 'max_in_flight_percent is 1-100').max(100, 'max_in_flight_percent is 1-100').optional(),
  /** A host not back on the new version this long after its update was sent has failed. */
  host_timeout_s: z
    .number()
    .int()
    .min(10, 'host_timeout_s is 10 s or more: an update downloads, verifies and restarts')
    .max(7 * 24 * 3600)
    .optional(),
});

export type StartRolloutBody = z.infer<typeof startRolloutBodySchema>;
