// Spooled hub uploads: a `destination: "hub"` backup made while the hub was unreachable waits in
// the local store with `pending_upload: "hub"`. This uploads each one (the file, sha256 checked by
// the hub, then its manifest) when the hub answers again, and then removes the local bytes: the
// artifact lives at the hub, as if the stream had worked. Runs every `backup.spool_retry_s`.
import { rm } from 'node:fs/promises';
import type { Logger } from '@tether/shared/logger.ts';
import type { BackupConfig } from './config-schema.ts';
import type { HubAccess } from './sinks/hub-verify-api.ts';
import { ArtifactStore } from './store.ts';

/** Uploads what is pending; returns the ids uploaded. Failures stay pending and are logged. */
export async function uploadSpooled(config: BackupConfig, stateDir: string, hub: HubAccess, log: Logger, signal: AbortSignal): Promise<string[]> {
  const store = new ArtifactStore(config, stateDir);
  const pending = (await store.list()).filter((manifest) => manifest.pending_upload === 'hub' && manifest.stored_locally);
  if (pending.length === 0) return [];
  // The HTTP clients load only when something waits (an idle agent does not carry them).
  const [{ uploadToHub }, { hubReachable }, { uploadManifest }] = await Promise.all([import('./sinks/hub-upload.ts'), import('./sinks/hub-stream.ts'), import('./sinks/hub-verify-api.ts')]);
  if (!(await hubReachable(hub, signal))) return [];
  const uploaded: string[] = [];
  for (const manifest of pending.reverse()) {
    // oldest first
    const path = store.artifactPath(manifest);
    try {
      const location = await uploadToHub(path, manifest, hub, signal);
      const done = {
        ...manifest,
        location,
        stored_locally: false,
        pending_upload: undefined,
        uploads: [...manifest.uploads, { destination: 'hub' as const, location, uploaded_at: new Date().toISOString() }],
      };
      await store.writeManifest(done);
      await rm(path, { force: true });
      await uploadManifest(hub, done, store.retention(done.target), signal).catch((error: Error) => log.warn({ id: manifest.id, err: error.message }, 'the hub did not take the manifest'));
      log.info({ id: manifest.id, location }, 'spooled artifact uploaded to the hub');
      uploaded.push(manifest.id);
    } catch (error) {
      log.warn({ id: manifest.id, err: (error as Error).message }, 'spooled artifact not uploaded yet; trying again later');
    }
  }
  return uploaded;
}

/** Retries spooled uploads every `intervalS`; returns a stop function. */
export function startSpoolUploader(config: BackupConfig, stateDir: string, hub: HubAccess, log: Logger, intervalS: number): () => void {
  const controller = new AbortController();
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      await uploadSpooled(config, stateDir, hub, log, controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) log.warn({ err: (error as Error).message }, 'spooled upload pass failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalS * 1000);
  timer.unref();
  void tick();
  return () => {
    clearInterval(timer);
    controller.abort();
  };
}
