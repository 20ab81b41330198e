// The agent's configuration: the shared base schema plus the agent's own sections.
import { z } from 'zod';
import { agentConfigSchema, loadAgentConfig } from '@tether/shared/config/agent-config.ts';
import type { LoadedAgentConfig } from '@tether/shared/config/agent-config.ts';
import { releaseKeysConfigSchema, updateConfigSchema } from './update/config-schema.ts';
import { backupConfigShape } from './backup/config-schema.ts';
import { actionsConfigShape } from './actions/config-schema.ts';
import { transportConfigShape } from './transport/config-schema.ts';

const ed25519PublicKeySchema = z
  .string()
  .trim()
  .refine((value) => Buffer.from(value, 'base64').length === 32, {
    message: 'must be a base64 Ed25519 public key (32 bytes), as shown by the hub',
  });

export const agentWorkerConfigSchema = agentConfigSchema.extend({
  /**
   * Command signing (protocol.md section 6). A key set here is the pin (deploy.sh writes it from
   * GET /api/agents/signing-key or --signing-key); without one the first hub's key is pinned.
   */
  signing: z.object({ public_key: ed25519PublicKeySchema.optional() }).default({}),
  /** WebSocket keepalive (protocol.md section 2): ping every 25 s, dead after 10 s without pong. */
  keepalive: z
    .object({
      ping_interval_s: z.number().positive().max(3600).default(25),
      pong_timeout_s: z.number().positive().max(3600).default(10),
    })
    .default({ ping_interval_s: 25, pong_timeout_s: 10 }),
  /**
   * Responses of commands with effects (actions, backups, update, restart) are always fsynced into
   * the command log before they are sent. Responses of commands that change nothing (ping, echo,
   * info, metrics, capabilities, listings) and refusals are written without fsync by default: they
   * survive a crash of the agent, not a power loss, and running them again changes nothing (a
   * verified command with effects refused without running is the exception, dispatcher.ts
   * #guardsReplay). fsync_effect_free: true makes them durable too (docs/protocol.md, "Durability").
   */
  durability: z.object({ fsync_effect_free: z.boolean().default(false) }).default({ fsync_effect_free: false }),
  /** How long finished commands are remembered so a re-sent command is not run twice. */
  journal: z
    .object({
      retention_h: z
        .number()
        .positive()
        .max(24 * 365)
        .default(24),
      max_entries: z.number().int().min(100).max(1_000_000).default(10_000),
    })
    .default({ retention_h: 24, max_entries: 10_000 }),
  /** Release public keys for updates (agent/src/update/config-schema.ts); env TETHER_RELEASE_KEYS. */
  release_keys: releaseKeysConfigSchema,
  /** update.allow_downgrade, update.skip (env TETHER_SKIP_UPDATE, MICROHACK_SKIP_UPDATE): agent/src/update/config-schema.ts. */
  update: updateConfigSchema,
  /** Backup targets, recipients, compression, retention (agent/src/backup/config-schema.ts). */
  ...backupConfigShape,
  /** exec actions, git_pull repositories, docker_restart containers (agent/src/actions/config-schema.ts). */
  ...actionsConfigShape,
  /** WebSocket / HTTP switching (agent/src/transport/config-schema.ts). */
  ...transportConfigShape,
});

export type AgentWorkerConfig = z.infer<typeof agentWorkerConfigSchema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoadedAgentConfig<AgentWorkerConfig> {
  return loadAgentConfig(env, agentWorkerConfigSchema);
}
