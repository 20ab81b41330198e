// The hub: HTTP(S) server with the admin API and the agents' HTTP fallback, and the agents'
// WebSocket endpoint on upgrade. startHub wires storage, identity and routing together.
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdirSync, chmodSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createLogger } from '@tether/shared/logger.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { MAX_AGENT_FRAME_BYTES } from '@tether/shared/protocol/hub-messages.ts';
import { VERSION } from '@tether/shared/version.ts';
import { openDatabase } from './storage/database.ts';
import { DurabilityBarrier } from './storage/durability.ts';
import { addArtifactRoutes, DEFAULT_ARTIFACT_MAX_BYTES } from './http/artifact-routes.ts';
import { loadS3Settings } from './artifacts/s3-settings.ts';
import type { S3Flags } from './artifacts/s3-settings.ts';
import { KeyStore } from './storage/key-store.ts';
import { AgentStore } from './storage/agent-store.ts';
import { CommandStore } from './storage/command-store.ts';
import { EventStore } from './storage/event-store.ts';
import { loadAdminToken } from './identity/admin-token.ts';
import { loadCommandSigner } from './identity/signing-key.ts';
import { Presence } from './presence.ts';
import { CommandRouter } from './commands/command-router.ts';
import { SignedFrames } from './commands/signed-frames.ts';
import { addSigningKeyRoute } from './identity/signing-key-route.ts';
import { RouteTable } from './http/route-table.ts';
import { HttpError, sendError, sendJson } from './http/http-io.ts';
import { addAdminRoutes } from './http/admin-routes.ts';
import { addAgentRoutes } from './http/agent-routes.ts';
import { handleAgentUpgrade } from './ws/upgrade.ts';
import { CLOSE_GOING_AWAY } from './ws/close-codes.ts';
import { addReleaseRoutes } from './releases/routes.ts';
import { defaultInstallScriptCandidates } from './releases/install-script.ts';

export interface HubOptions {
  host?: string;
  port?: number;
  dataDir: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  logLevel?: string;
  /** Defaults to a JSON logger on stdout that masks the admin token. */
  log?: Logger;
  heartbeatIntervalS?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  pollIntervalS?: number;
  /** A command handed to an HTTP poll and never answered is offered again after this long. */
  httpReofferS?: number;
  /** Trusted release public keys, one per line; default <data-dir>/release-keys. */
  releaseKeysFile?: string;
  /** deploy.sh served as /install.sh; default the repository's (or one beside the bundle). */
  installScriptPath?: string;
  /** Largest artifact an agent may upload (default 64 GiB). */
  artifactMaxBytes?: number;
  /** S3-compatible storage that agents upload to through presigned URLs (--s3-* flags). */
  s3?: S3Flags;
}

export interface RunningHub {
  url: string;
  log: Logger;
  close(): Promise<void>;
}

export async function startHub(options: HubOptions): Promise<RunningHub> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);

  const db = openDatabase(join(dataDir, 'hub.sqlite'));
  let adminTokenForMasking: string | undefined;
  const log = options.log ?? createLogger({ name: 'tether-hub', level: options.logLevel ?? 'info', secrets: () => (adminTokenForMasking ? [adminTokenForMasking] : []) });
  const adminToken = loadAdminToken(db, dataDir);
  adminTokenForMasking = adminToken.known();
  const signer = loadCommandSigner(dataDir);

  const keys = new KeyStore(db);
  const agents = new AgentStore(db);
  const commands = new CommandStore(db);
  const events = new EventStore(db);
  const presence = new Presence();
  const durability = new DurabilityBarrier(db, join(dataDir, 'hub.sqlite'), log);
  const frames = new SignedFrames(signer, (keyId) => keys.keyHash(keyId));
  const router = new CommandRouter({ commands, events, presence, frames, log, durability, httpReofferMs: (options.httpReofferS ?? 120) * 1000 });

  const routes = new RouteTable();
  routes.add('GET', '/api/health', ({ res }) => sendJson(res, 200, { ok: true, version: VERSION }));
  addAdminRoutes(routes, { keys, commands, events, presence, router, frames, adminToken, log });
  addAgentRoutes(routes, { keys, agents, presence, router, signer, frames, log, pollIntervalS: options.pollIntervalS ?? 5 });
  addSigningKeyRoute(routes, signer);
  const s3 = options.s3 ? await loadS3Settings(options.s3, dataDir) : null;
  addArtifactRoutes(routes, { keys, dataDir, log, maxBytes: options.artifactMaxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES, s3 });
  addReleaseRoutes(routes, {
    dataDir,
    releaseKeysFile: options.releaseKeysFile,
    installScriptCandidates: options.installScriptPath ? [options.installScriptPath] : defaultInstallScriptCandidates(),
    log,
  });

  const handleRequest = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      const url = new URL(req.url ?? '/', 'http://hub.invalid');
      const found = routes.match(req.method ?? 'GET', url.pathname);
      if (found === undefined) throw new HttpError(404, `no such endpoint: ${req.method} ${url.pathname}`);
      if (found === 'method') throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
      await found.handler({ req, res, url, params: found.params });
    } catch (error) {
      if (error instanceof HttpError) return sendError(res, error);
      if (error instanceof URIError) return sendError(res, new HttpError(400, 'malformed percent-encoding in the URL'));
      log.error({ err: error, method: req.method }, 'request failed');
      sendError(res, new HttpError(500, 'internal error; see the hub log'));
    }
  };

  const server: Server =
    options.tlsCertFile && options.tlsKeyFile
      ? createHttpsServer({ cert: readFileSync(options.tlsCertFile), key: readFileSync(options.tlsKeyFile) }, (req, res) => void handleRequest(req, res))
      : createHttpServer((req, res) => void handleRequest(req, res));
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  let shuttingDown = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_AGENT_FRAME_BYTES });
  server.on('upgrade', (req, socket, head) => {
    try {
      handleAgentUpgrade(req, socket, head, {
        wss, keys, presence, router, agents, signer, frames, log,
        heartbeatIntervalS: options.heartbeatIntervalS ?? 30,
        pingIntervalMs: options.pingIntervalMs ?? 25_000,
        pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
        isShuttingDown: () => shuttingDown,
      });
    } catch (error) {
      log.error({ err: error }, 'upgrade failed');
      socket.destroy();
    }
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 7070, options.host ?? '127.0.0.1', () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${options.tlsCertFile ? 'https' : 'http'}://${host}:${address.port}`;
  log.info({ url, data_dir: dataDir, version: VERSION }, 'hub listening');

  return {
    url,
    log,
    async close() {
      if (shuttingDown) return;
      shuttingDown = true;
      log.info('hub shutting down');
      for (const client of wss.clients) client.close(CLOSE_GOING_AWAY, 'hub shutting down');
      // Give the close frames a moment to leave, then drop whatever is left.
      await new Promise((done) => setTimeout(done, 200));
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await durability.close();
      db.close();
    },
  };
}
