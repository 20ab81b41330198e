// GET /api/agents/signing-key (no auth): the hub's command-signing public key and its fingerprint,
// so an installer can pin it before the agent first connects (deploy.sh prints the fingerprint
// for the operator to compare; `--signing-key` passes the key out of band instead). The answer is
// checked against its schema on the way out: a hub never serves a malformed key to be pinned.
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { signingKeyAnswerSchema } from '@tether/shared/protocol/http-bodies.ts';
import type { CommandSigner } from './signing-key.ts';

export interface SigningKeyRouteDeps {
  signer: Pick<CommandSigner, 'publicKey' | 'fingerprint'>;
}

export async function signingKeyRoutes(base: FastifyInstance, deps: SigningKeyRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.get('/api/agents/signing-key', { schema: { response: { 200: signingKeyAnswerSchema } } }, async (_request, reply) =>
    reply.code(200).header('cache-control', 'no-store').send({ signing_key: deps.signer.publicKey, fingerprint: deps.signer.fingerprint }),
  );
}
