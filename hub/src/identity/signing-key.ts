// The hub's Ed25519 command-signing key pair (protocol.md section 6), kept in the data dir.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateEd25519KeyPair, publicKeyFromPrivatePem, signEd25519 } from '@tether/shared/crypto.ts';
import { writeFileAtomicSync } from '@tether/shared/atomic-file.ts';
import { canonicalJson } from '@tether/shared/canonical-json.ts';

export const SIGNING_KEY_FILE = 'command-signing-key.pem';
export const SIGNING_PUBLIC_KEY_FILE = 'command-signing-key.pub';

export interface CommandSigner {
  /** Raw Ed25519 public key, base64: sent as `connected.signing_key`. */
  publicKey: string;
  sign(fields: { command_id: string; command: string; data: unknown; timestamp: string; deadline: string | undefined; agent_key_id: string }): string;
}

export function loadCommandSigner(dataDir: string): CommandSigner {
  const privatePath = join(dataDir, SIGNING_KEY_FILE);
  let privateKeyPem: string;
  if (existsSync(privatePath)) {
    privateKeyPem = readFileSync(privatePath, 'utf8');
  } else {
    const pair = generateEd25519KeyPair();
    privateKeyPem = pair.privateKeyPem;
    writeFileAtomicSync(privatePath, privateKeyPem, { mode: 0o600 });
    writeFileAtomicSync(join(dataDir, SIGNING_PUBLIC_KEY_FILE), `${pair.publicKey}\n`, { mode: 0o644 });
  }
  const publicKey = publicKeyFromPrivatePem(privateKeyPem);
  return {
    publicKey,
    sign: (fields) => signEd25519(privateKeyPem, canonicalJson(fields)),
  };
}
