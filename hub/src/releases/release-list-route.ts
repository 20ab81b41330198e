// GET /api/releases (admin): the releases published (`tether hub publish`), newest first, each with
// its platforms: those on this hub's disk and those the shared store lists (published through
// another hub of a cluster); what a rollout can roll out (docs/api.md "Releases and rollouts").
import type { FastifyInstance } from 'fastify';
import { sortVersions } from '@tether/shared/release/versions.ts';
import type { PublishedRelease } from '@tether/shared/protocol/rollout-views.ts';
import type { HubStore } from '../store/store.ts';
import { sendJson } from '../http/http-error.ts';
import type { ReleaseStore } from './release-store.ts';

type Platform = PublishedRelease['platforms'][number];

export function releaseListRoute(app: FastifyInstance, releases: ReleaseStore, store: HubStore): void {
  app.get('/api/releases', async (_request, reply) => {
    const byVersion = new Map<string, Map<string, Platform>>();
    const add = (version: string, platform: Platform) => {
      const platforms = byVersion.get(version) ?? new Map<string, Platform>();
      if (!platforms.has(platform.platform)) platforms.set(platform.platform, platform);
      byVersion.set(version, platforms);
    };
    for (const { version, platforms } of releases.published()) {
      for (const { platform, arch, size, sha256, key_id } of platforms) add(version, { platform, arch, size, sha256, key_id: key_id ?? null });
    }
    for (const { version, platform, arch, size, sha256, key_id } of await store.listReleases()) add(version, { platform, arch, size, sha256, key_id: key_id || null });
    const published: PublishedRelease[] = sortVersions([...byVersion.keys()])
      .reverse()
      .map((version) => ({ version, platforms: [...byVersion.get(version)!.values()].sort((a, b) => a.platform.localeCompare(b.platform)) }));
    return sendJson(reply, 200, { releases: published });
  });
}
