// Distribution endpoints (no admin token, protocol.md section 8): the install script, the
// trusted release keys, the latest release per platform and the release files themselves.
import { createReadStream, statSync } from 'node:fs';
import { z } from 'zod';
import type { Logger } from '@tether/shared/logger.ts';
import type { RouteTable } from '../http/route-table.ts';
import { HttpError, sendJson } from '../http/http-io.ts';
import { ReleaseStore } from './release-store.ts';
import { loadReleaseKeys, ReleaseKeysError } from './release-keys.ts';
import { renderInstallScript } from './install-script.ts';
import { loadCommandSigner } from '../identity/signing-key.ts';
import { keyId } from '@tether/shared/release/signing.ts';

export interface ReleaseRouteDeps {
  dataDir: string;
  releaseKeysFile?: string;
  installScriptCandidates: readonly string[];
  log: Logger;
}

const latestQuerySchema = z.object({
  platform: z.string().regex(/^[a-z0-9]+-[a-z0-9]+$/, 'platform must look like linux-x64 or linux-arm64').default('linux-x64'),
});

export function addReleaseRoutes(table: RouteTable, deps: ReleaseRouteDeps): void {
  const store = new ReleaseStore(deps.dataDir);

  table.add('GET', '/install.sh', async ({ req, res }) => {
    const script = await renderInstallScript(req, deps.installScriptCandidates);
    if (!script.ok) throw new HttpError(script.status, script.message);
    res.writeHead(200, { 'content-type': 'text/x-shellscript; charset=utf-8', 'content-length': Buffer.byteLength(script.body), 'cache-control': 'no-store' });
    res.end(script.body);
  });

  // Minimal version for deploy.sh's pinning at install (issue 9 item 14); engineer sec-trust owns
  // the real route. Same answer shape: the raw public key and its fingerprint.
  const signingKey = loadCommandSigner(deps.dataDir).publicKey;
  table.add('GET', '/api/agents/signing-key', ({ res }) => {
    sendJson(res, 200, { signing_key: signingKey, fingerprint: keyId(signingKey) });
  });

  table.add('GET', '/api/agents/release-keys', ({ res }) => {
    try {
      sendJson(res, 200, { keys: loadReleaseKeys(deps.dataDir, deps.releaseKeysFile) });
    } catch (error) {
      if (error instanceof ReleaseKeysError) {
        deps.log.error({ err: error.message }, 'release keys unreadable');
        throw new HttpError(500, 'the hub cannot read its release keys; see the hub log');
      }
      throw error;
    }
  });

  table.add('GET', '/api/agents/releases/latest', ({ res, url }) => {
    const query = latestQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) throw new HttpError(400, query.error.issues.map((issue) => issue.message).join('; '));
    const latest = store.latest(query.data.platform);
    if (!latest) throw new HttpError(404, `no release is published for ${query.data.platform}; publish one with: tether hub publish <release-dir>`);
    sendJson(res, 200, latest);
  });

  table.add('GET', '/api/agents/releases/:version/:file', ({ req, res, params }) => {
    const path = store.filePath(params.version!, params.file!);
    if (path === undefined) throw new HttpError(404, `no release file ${params.file} for version ${params.version}; see GET /api/agents/releases/latest`);
    const size = statSync(path).size;
    const type = path.endsWith('.tar.gz') ? 'application/gzip' : path.endsWith('.json') ? 'application/json' : 'text/plain';
    res.writeHead(200, { 'content-type': type, 'content-length': size, 'cache-control': 'no-store' });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(path);
    stream.on('error', (error) => {
      deps.log.warn({ err: error.message, path }, 'release file read failed');
      res.destroy();
    });
    stream.pipe(res);
  });
}
