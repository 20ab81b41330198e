// What both agent fuzzers (agent-frames over WebSocket, agent-http over HTTP polling) give the
// real agent they attack: its grant, a config with the marker-writing `effect` action and the
// pinned signing key, and the frames a hub holding that key signs for it (plus a second key
// whose signatures must be refused).
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateEd25519KeyPair, hashSecret, signEd25519 } from '../../shared/src/crypto.ts';
import { ackPayload, commandPayload, permissionsPayload } from '../../shared/src/protocol/signed-payloads.ts';
import { REPO_ROOT } from '../helpers/process.ts';

export const GRANT = ['ping', 'echo', 'info', 'metrics', 'capabilities', 'exec'];
const EFFECT = join(REPO_ROOT, 'test/transport/fixtures/effect.mjs');

export interface CommandFields {
  command_id: string;
  command: string;
  data?: unknown;
  deadline?: string;
  timeout_s?: number;
}

/** The hub side of one fuzzed agent: its signing key, a wrong one, and what they sign. */
export class FuzzHubKeys {
  readonly signing = generateEd25519KeyPair();
  readonly other = generateEd25519KeyPair();
  /** What scheme-2 signatures bind to: the agent key's SHA-256. */
  readonly keySha256: string;

  constructor(agentKey: string) {
    this.keySha256 = hashSecret(agentKey);
  }

  /** A command's signature by the pinned key, or by the wrong one. */
  commandSignature(fields: CommandFields, timestamp: string, by: 'pinned' | 'other' = 'pinned'): string {
    return signEd25519((by === 'pinned' ? this.signing : this.other).privateKeyPem, commandPayload({ ...fields, timestamp }, this.keySha256));
  }

  /** The fields of a correctly signed command (the WebSocket frame adds `type`). */
  command(fields: CommandFields, timestamp = new Date().toISOString()): Record<string, unknown> {
    return { ...fields, timestamp, signature: this.commandSignature(fields, timestamp) };
  }

  /** The fields of a correctly signed ack (the WebSocket frame adds `type`). */
  ack(commandIds: string[]): Record<string, unknown> {
    const timestamp = new Date().toISOString();
    return { command_ids: commandIds, timestamp, signature: signEd25519(this.signing.privateKeyPem, ackPayload({ command_ids: commandIds, timestamp }, this.keySha256)) };
  }

  /** A signed `permissions` frame (the same on both transports). */
  grant(permissions: string[]): Record<string, unknown> {
    const timestamp = new Date().toISOString();
    return { type: 'permissions', permissions, timestamp, signature: signEd25519(this.signing.privateKeyPem, permissionsPayload({ permissions, timestamp }, this.keySha256)) };
  }
}

/** Writes the agent's config into `dir`: the grant, the `effect` action writing to `marker`, the pin. */
export async function writeFuzzedAgentConfig(dir: string, signingPublicKey: string): Promise<{ configPath: string; marker: string }> {
  const marker = join(dir, 'effects');
  const configPath = join(dir, 'agent.yaml');
  await writeFile(
    configPath,
    [
      `allow: [${GRANT.join(', ')}]`,
      'actions:',
      '  effect:',
      `    argv: [${JSON.stringify(process.execPath)}, ${JSON.stringify(EFFECT)}, ${JSON.stringify(marker)}, "{id}", "1", "0"]`,
      '    args:',
      '      id: { pattern: "[a-z0-9-]{1,40}" }',
      `signing:\n  public_key: ${signingPublicKey}`,
      '',
    ].join('\n'),
  );
  return { configPath, marker };
}

/** The effect ids the `effect` action wrote so far. */
export function effectsWritten(marker: string): string[] {
  return existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean) : [];
}
