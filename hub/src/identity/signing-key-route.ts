// GET /api/agents/signing-key (no auth): the hub's command-signing public key and its fingerprint,
// so an installer can pin it before the agent first connects (deploy.sh prints the fingerprint
// for the operator to compare; `--signing-key` passes the key out of band instead).
import type { RouteTable } from '../http/route-table.ts';
import { sendJson } from '../http/http-io.ts';
import type { CommandSigner } from './signing-key.ts';

export function addSigningKeyRoute(table: RouteTable, signer: Pick<CommandSigner, 'publicKey' | 'fingerprint'>): void {
  table.add('GET', '/api/agents/signing-key', ({ res }) => {
    sendJson(res, 200, { signing_key: signer.publicKey, fingerprint: signer.fingerprint });
  });
}
