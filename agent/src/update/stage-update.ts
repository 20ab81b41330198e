// The agent's half of an update (protocol.md section 7): resolve the version against the hub,
// download and verify the release, extract it into <state>/versions/<v> via <v>.staging, keep the
// verified files in <state>/downloads/<v>/ for the supervisor to check again, and write
// staged.json. Any failure leaves nothing behind and the running version untouched.
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { VERSION } from '@tether/shared/version.ts';
import type { Logger } from '@tether/shared/logger.ts';
import { hostPlatform, MAX_MANIFEST_BYTES, releaseFileNames } from '@tether/shared/release/manifest.ts';
import { verifyRelease } from '@tether/shared/release/verify.ts';
import { compareVersions, isValidVersion } from '@tether/shared/release/versions.ts';
import { listInstalled, readBadVersions, readCurrent, removeVersion, stageRelease } from '@tether/shared/release/install.ts';
import { downloadDir, writeStaged } from '@tether/shared/release/state-files.ts';
import { pauseForTest } from '@tether/shared/release/test-pause.ts';
import { downloadToFile, fetchJson } from './http-download.ts';
import type { DownloadOptions } from './http-download.ts';
import { releaseKeysUrl, releasesUrl } from './hub-urls.ts';
import { trustedReleaseKeys } from './trusted-keys.ts';
import { PLAIN_TEXT_FIX, plainTextProblem } from '../transport/plain-text.ts';
import { TetherError } from '@tether/shared/errors.ts';

export class UpdateRefused extends TetherError {
  override name = 'UpdateRefused';

  constructor(message: string) {
    super('TETHER_ERR_UPDATE_REFUSED', message);
  }
}

const latestSchema = z.object({
  version: z.string().refine(isValidVersion, 'not a semver version'),
  platform: z.string(),
  size: z.number().int().positive(),
  tarball: z.string(),
  manifest: z.string(),
  signature: z.string(),
});

/** Largest tarball accepted before its manifest is verified (a Node runtime is ~50 MB gzipped). */
const MAX_TARBALL_BYTES = 512 * 1024 * 1024;

export interface StageOptions {
  /** "latest" or an exact semver version (an explicit version may be a downgrade or a bad version). */
  requested: string;
  serverUrl: string;
  configuredKeys: readonly string[];
  stateDir: string;
  log: Logger;
  signal?: AbortSignal;
  progress?: (percent: number, message: string) => void;
  /** Running version; default this build's. */
  runningVersion?: string;
  /** update.allow_downgrade from the host's config: an explicit older version is refused without it. */
  allowDowngrade?: boolean;
  /** allow_insecure from the host's config: the release base may be plain text to a non-loopback host. */
  allowInsecure?: boolean;
}

export type StageResult = { state: 'current'; version: string } | { state: 'staged'; from: string; to: string; size: number; key_id: string };

export async function stageUpdate(options: StageOptions): Promise<StageResult> {
  const running = options.runningVersion ?? VERSION;
  const platform = hostPlatform();
  const explicit = options.requested !== 'latest';
  const download: DownloadOptions = { userAgent: `tether-agent/${running}`, signal: options.signal };
  const base = releasesUrl(options.serverUrl);
  const plainText = plainTextProblem(base);
  if (plainText && !options.allowInsecure) throw new UpdateRefused(`the release base ${new URL(base).origin} is refused: ${plainText}; ${PLAIN_TEXT_FIX}`);
  const progress = options.progress ?? (() => {});

  let version: string;
  let expectedSize = MAX_TARBALL_BYTES;
  if (explicit) {
    version = options.requested;
  } else {
    const latest = latestSchema.safeParse(await fetchJson(`${base}/latest?platform=${encodeURIComponent(platform)}`, 64 * 1024, download));
    if (!latest.success)
      throw new UpdateRefused(`the hub's latest release for ${platform} is malformed: ${latest.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    version = latest.data.version;
    expectedSize = Math.min(latest.data.size, MAX_TARBALL_BYTES);
  }
  const names = releaseFileNames(version, platform);

  if (compareVersions(version, running) === 0) return { state: 'current', version };
  if (!explicit && compareVersions(version, running) < 0) {
    throw new UpdateRefused(`the latest published release ${version} is older than the running ${running}; a downgrade needs the exact version (update with version "${version}")`);
  }
  // An older signed release may carry a fixed vulnerability: only the host itself may allow going back.
  if (explicit && compareVersions(version, running) < 0 && !options.allowDowngrade) {
    throw new UpdateRefused(`${version} is older than the running ${running}, and this host does not allow downgrades; set update.allow_downgrade: true in the agent config to allow them`);
  }
  if (!explicit) {
    const bad = (await readBadVersions(options.stateDir))[version];
    if (bad) throw new UpdateRefused(`version ${version} was rolled back on this host (${bad.reason}); it is only installed again when named explicitly`);
  }
  if ((await readCurrent(options.stateDir).catch(() => null)) === version) {
    throw new UpdateRefused(`version ${version} is already installed and current; use redeploy to reinstall it`);
  }

  const keys = await trustedReleaseKeys({ configured: options.configuredKeys, stateDir: options.stateDir, keysUrl: releaseKeysUrl(options.serverUrl), download, log: options.log });
  const partial = downloadDir(options.stateDir, version, true);
  const final = downloadDir(options.stateDir, version);
  const wasInstalled = (await listInstalled(options.stateDir)).includes(version);
  let installed = false;
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true, mode: 0o700 });
    progress(5, `downloading ${names.manifest}`);
    await downloadToFile(`${base}/${version}/${names.manifest}`, join(partial, names.manifest), MAX_MANIFEST_BYTES, download);
    await downloadToFile(`${base}/${version}/${names.signature}`, join(partial, names.signature), 4096, download);
    await pauseForTest('agent:download');
    progress(10, `downloading ${names.tarball}`);
    // The (unverified) listed size caps the download; the signed manifest decides afterwards.
    await downloadToFile(`${base}/${version}/${names.tarball}`, join(partial, names.tarball), expectedSize, download);
    progress(60, 'verifying signature, size and sha256');
    await pauseForTest('agent:verify');
    const verified = await verifyRelease({
      manifestPath: join(partial, names.manifest),
      signaturePath: join(partial, names.signature),
      tarballPath: join(partial, names.tarball),
      trustedKeys: keys,
      expectedPlatform: platform,
      expectedVersion: version,
    });
    progress(70, `extracting ${version}`);
    await pauseForTest('agent:extract');
    await stageRelease(join(partial, names.tarball), options.stateDir, version);
    installed = true;
    await rm(final, { recursive: true, force: true });
    await rename(partial, final);
    await writeStaged(options.stateDir, {
      version,
      from: running,
      tarball: join(final, names.tarball),
      manifest: join(final, names.manifest),
      signature: join(final, names.signature),
      staged_at: new Date().toISOString(),
    });
    progress(100, `staged ${version}`);
    return { state: 'staged', from: running, to: version, size: verified.manifest.size, key_id: verified.keyId };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    await rm(final, { recursive: true, force: true });
    if (installed && !wasInstalled) await removeVersion(options.stateDir, version).catch(() => {});
    throw error;
  }
}
