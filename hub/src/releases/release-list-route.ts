// GET /api/releases (admin): the releases published on this hub (`tether hub publish`), newest
// first, each with its platforms; what a rollout can roll out (docs/api.md "Releases and rollouts").
import type { FastifyInstance } from 'fastify';
import { sendJson } from '../http/http-error.ts';
import type { ReleaseStore } from './release-store.ts';

export function releaseListRoute(app: FastifyInstance, releases: ReleaseStore): void {
  app.get('/api/releases', async (_request, reply) => {
    const published = releases.published().map(({ version, platforms }) => ({
      version,
      platforms: platforms.map(({ platform, arch, size, sha256, key_id }) => ({ platform, arch, size, sha256, key_id: key_id ?? null })),
    }));
    return sendJson(reply, 200, { releases: published });
  });
}
