// `tether hub publish <release-dir>`: verifies every release in a directory written by
// `npm run release` against the hub's trusted release keys, then puts it into the hub's store
// (metadata, manifest, signature and tarball: every hub on a shared database serves it) and copies
// it into <data-dir>/releases/<version>/. Nothing is published unless everything verifies.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { releaseFileNames } from '@tether/shared/release/manifest.ts';
import { verifyRelease } from '@tether/shared/release/verify.ts';
import type { VerifiedRelease } from '@tether/shared/release/verify.ts';
import { TetherError } from '@tether/shared/errors.ts';
import type { HubStore } from '../store/store.ts';

export class PublishError extends TetherError {
  override name = 'PublishError';

  constructor(message: string) {
    super('TETHER_ERR_PUBLISH', message);
  }
}

const MANIFEST_NAME = /^tether-agent-(.+)-([a-z0-9]+-[a-z0-9]+)\.json$/;

export interface PublishOptions {
  releaseDir: string;
  dataDir: string;
  trustedKeys: readonly string[];
  /** Opens the hub's store, where every hub finds the release (only once everything verified). */
  openStore: () => Promise<HubStore>;
}

export interface PublishedRelease {
  version: string;
  platform: string;
  keyId: string;
  files: string[];
}

export async function publishRelease(options: PublishOptions): Promise<PublishedRelease[]> {
  if (options.trustedKeys.length === 0) {
    throw new PublishError('the hub trusts no release keys: put the release public key (release-key.pub) in <data-dir>/release-keys or pass --release-keys FILE');
  }
  const releaseDir = resolve(options.releaseDir);
  let entries: string[];
  try {
    entries = await readdir(releaseDir);
  } catch (error) {
    throw new PublishError(`cannot read the release directory ${releaseDir}: ${(error as Error).message}`);
  }
  const found: Array<{ version: string; platform: string; verified: VerifiedRelease; files: string[] }> = [];
  for (const entry of entries.sort()) {
    const match = MANIFEST_NAME.exec(entry);
    if (!match) continue;
    const [, version, platform] = match as unknown as [string, string, string];
    let names;
    try {
      names = releaseFileNames(version, platform);
    } catch {
      continue; // not a release manifest name (e.g. an invalid version)
    }
    let verified: VerifiedRelease;
    try {
      verified = await verifyRelease({
        manifestPath: join(releaseDir, names.manifest),
        signaturePath: join(releaseDir, names.signature),
        tarballPath: join(releaseDir, names.tarball),
        trustedKeys: options.trustedKeys,
        expectedVersion: version,
        expectedPlatform: platform,
      });
    } catch (error) {
      throw new PublishError(`refusing to publish ${names.tarball}: ${(error as Error).message}`);
    }
    found.push({ version, platform, verified, files: [names.tarball, names.manifest, names.signature] });
  }
  if (found.length === 0) throw new PublishError(`no release found in ${releaseDir} (expected tether-agent-<version>-<platform>.{tar.gz,json,json.sig} written by npm run release)`);

  const store = await options.openStore();
  try {
    for (const release of found) await putInStore(store, releaseDir, release);
  } finally {
    await store.close();
  }
  const releasesRoot = join(resolve(options.dataDir), 'releases');
  await mkdir(releasesRoot, { recursive: true, mode: 0o700 });
  for (const release of found) {
    const target = join(releasesRoot, release.version);
    await mkdir(target, { recursive: true, mode: 0o755 });
    // Tarball first, manifest last: the store lists a platform only once its manifest is there.
    for (const file of [release.files[0]!, release.files[2]!, release.files[1]!]) {
      const temp = join(target, `.${file}.${process.pid}.tmp`);
      try {
        await copyFile(join(releaseDir, file), temp);
        await rename(temp, join(target, file));
      } finally {
        await rm(temp, { force: true });
      }
    }
  }
  return found.map((release) => ({ version: release.version, platform: release.platform, keyId: release.verified.keyId, files: release.files }));
}

/** The verified files into the store; the tarball is checked again as read (it may have changed since). */
async function putInStore(store: HubStore, releaseDir: string, release: { version: string; platform: string; verified: VerifiedRelease; files: string[] }): Promise<void> {
  const [tarballName, , signatureName] = release.files as [string, string, string];
  const tarball = await readFile(join(releaseDir, tarballName));
  const manifest = release.verified.manifest;
  if (createHash('sha256').update(tarball).digest('hex') !== manifest.sha256 || tarball.length !== manifest.size) {
    throw new PublishError(`refusing to publish ${tarballName}: it changed while it was being published; run tether hub publish again`);
  }
  const manifestText = release.verified.manifestBytes.toString('utf8');
  if (!Buffer.from(manifestText, 'utf8').equals(release.verified.manifestBytes)) throw new PublishError(`refusing to publish ${tarballName}: its manifest is not UTF-8 text`);
  await store.putRelease(
    {
      version: release.version,
      platform: release.platform,
      arch: manifest.arch,
      sha256: manifest.sha256,
      size: manifest.size,
      key_id: release.verified.keyId,
      tarball: tarballName,
      manifest: manifestText,
      signature: (await readFile(join(releaseDir, signatureName))).toString('utf8'),
    },
    tarball,
  );
}
