// The agent config's `release_keys`: release public keys pinned from the install (YAML list, or
// TETHER_RELEASE_KEYS as a comma-separated string). Empty: pinned at first use from the hub.
// And `update:`: what the `update` command may do on this host.
import { z } from 'zod';
import { booleanish } from '@tether/shared/config/agent-config.ts';
import { decodePublicKey } from '@tether/shared/release/signing.ts';

const releaseKeySchema = z
  .string()
  .trim()
  .refine(
    (value) => {
      try {
        decodePublicKey(value);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be a base64 Ed25519 release public key (44 characters, the content of release-key.pub)' },
  );

export const releaseKeysConfigSchema = z
  .preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((key) => key.trim())
            .filter((key) => key !== '')
        : value,
    z.array(releaseKeySchema),
  )
  .default([]);

/** The `update:` section: what the `update` command may do on this host. */
export const updateConfigSchema = z
  .object({
    /**
     * An `update` naming a version older than the running one is refused unless this is true: an
     * old signed release may carry a fixed vulnerability. Only the host's config can allow it.
     */
    allow_downgrade: z.boolean().default(false),
    /**
     * (env TETHER_SKIP_UPDATE or micro-hack's MICROHACK_SKIP_UPDATE) this agent never updates on its
     * own; with skip set, the commands that change the installed version (update, update_agent,
     * redeploy) are refused too, so it stays as installed.
     */
    skip: booleanish.default(false),
  })
  .default({ allow_downgrade: false, skip: false });
