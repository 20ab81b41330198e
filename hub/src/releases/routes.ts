// Distribution endpoints (no admin token, protocol.md section 8): the install script, the
// trusted release keys, the latest release per platform and the release files themselves.
import { createReadStream, statSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import { HttpError, sendJson } from '../http/http-error.ts';
import { fixedMessage, joinedMessages } from '../http/validation.ts';
import type { HubStore } from '../store/store.ts';
import { StoredReleases } from './stored-releases.ts';
import { loadReleaseKeys, ReleaseKeysError } from './release-keys.ts';
import { BAD_HOST, SAFE_HOST, renderInstallScript } from './install-script.ts';

export interface ReleaseRouteDeps {
  dataDir: string;
  /** Where releases are published (shared by every hub on the database). */
  store: HubStore;
  releaseKeysFile?: string;
  installScriptCandidates: readonly string[];
  log: Logger;
}

const latestQuerySchema = z.object({
  platform: z
    .string()
    .regex(/^[a-z0-9]+-[a-z0-9]+$/, 'platform must look like linux-x64 or linux-arm64')
    .default('linux-x64'),
});

/** The Host header goes into the script as its default server: only a plain host[:port]. */
const installHeaders = z.looseObject({ host: z.string().regex(SAFE_HOST) });
const fileParams = z.object({ version: z.string().min(1), file: z.string().min(1) });

export async function releaseRoutes(base: FastifyInstance, deps: ReleaseRouteDeps): Promise<void> {
  const app = base.withTypeProvider<ZodTypeProvider>();
  const releases = new StoredReleases(deps.store, deps.dataDir, deps.log);
  const store = releases.files;

  app.get('/install.sh', { schema: { headers: installHeaders }, schemaErrorFormatter: fixedMessage(BAD_HOST) }, async (request, reply) => {
    const script = await renderInstallScript(request.raw, deps.installScriptCandidates);
    if (!script.ok) throw new HttpError(script.status, script.message);
    return reply.code(200).headers({ 'content-type': 'text/x-shellscript; charset=utf-8', 'cache-control': 'no-store' }).send(script.body);
  });

  app.get('/api/agents/release-keys', async (_request, reply) => {
    try {
      return sendJson(reply, 200, { keys: loadReleaseKeys(deps.dataDir, deps.releaseKeysFile) });
    } catch (error) {
      if (error instanceof ReleaseKeysError) {
        deps.log.error({ err: error.message }, 'release keys unreadable');
        throw new HttpError(500, 'the hub cannot read its release keys; see the hub log');
      }
      throw error;
    }
  });

  app.get('/api/agents/releases/latest', { schema: { querystring: latestQuerySchema }, schemaErrorFormatter: joinedMessages }, async (request, reply) => {
    const { platform } = request.query;
    await releases.sync(platform);
    const latest = store.latest(platform);
    if (!latest) throw new HttpError(404, `no release is published for ${platform}; publish one with: tether hub publish <release-dir>`);
    return sendJson(reply, 200, latest);
  });

  // GET and HEAD (a HEAD answers the same headers and never opens the file).
  app.route({
    method: ['GET', 'HEAD'],
    url: '/api/agents/releases/:version/:file',
    schema: { params: fileParams },
    handler: async (request, reply) => {
      const { version, file } = request.params;
      if (store.filePath(version, file) === undefined) await releases.syncVersion(version);
      const path = store.filePath(version, file);
      if (path === undefined) throw new HttpError(404, `no release file ${file} for version ${version}; see GET /api/agents/releases/latest`);
      const size = statSync(path).size;
      const type = path.endsWith('.tar.gz') ? 'application/gzip' : path.endsWith('.json') ? 'application/json' : 'text/plain';
      reply.hijack(); // streamed as before: the headers, then the file
      reply.raw.writeHead(200, { 'content-type': type, 'content-length': size, 'cache-control': 'no-store' });
      if (request.method === 'HEAD') return void reply.raw.end();
      const stream = createReadStream(path);
      stream.on('error', (error) => {
        deps.log.warn({ err: error.message, path }, 'release file read failed');
        reply.raw.destroy();
      });
      stream.pipe(reply.raw);
    },
  });
}
