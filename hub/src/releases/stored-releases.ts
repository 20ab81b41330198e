// Releases in the shared store, copied into this hub's data dir as it first needs them. The store
// is the truth: `tether hub publish` writes metadata, manifest, signature and the tarball's bytes
// there (any hub on the database sees the release), and into the publishing hub's
// <data-dir>/releases/<v>/ too. Every hub serves from its own directory, as before the store held
// releases (release-store.ts), and a release it does not have yet is written there from the store
// first (atomically, file by file: tarball and signature before the manifest, which is what lists
// it). Bytes in the store, not on a shared disk or S3: nothing but the database is needed for any
// hub to serve any release, and agents check the signature and sha256 of what they get anyway.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { releaseFileNames } from '@tether/shared/release/manifest.ts';
import type { Logger } from '@tether/shared/logger.ts';
import type { HubStore, ReleaseRecord } from '../store/store.ts';
import { ReleaseStore } from './release-store.ts';

export class StoredReleases {
  readonly files: ReleaseStore;
  readonly #store: HubStore;
  readonly #log: Logger;
  /** Copies under way, so two requests for one release write it once. */
  readonly #copying = new Map<string, Promise<void>>();

  constructor(store: HubStore, dataDir: string, log: Logger) {
    this.#store = store;
    this.files = new ReleaseStore(dataDir);
    this.#log = log;
  }

  /** Every release of the platform (or all) in the store is in the data dir once this resolves. */
  async sync(platform?: string): Promise<void> {
    const missing = (await this.#store.listReleases(platform)).filter((release) => this.files.find(release.version, release.platform) === undefined);
    await Promise.all(missing.map((release) => this.#copy(release)));
  }

  /** One version's releases, when that version is asked for by name (a file download). */
  async syncVersion(version: string): Promise<void> {
    const missing = (await this.#store.listReleases()).filter((release) => release.version === version && this.files.find(release.version, release.platform) === undefined);
    await Promise.all(missing.map((release) => this.#copy(release)));
  }

  #copy(release: ReleaseRecord): Promise<void> {
    const id = `${release.version}/${release.platform}`;
    let copying = this.#copying.get(id);
    if (!copying) {
      copying = this.#write(release)
        .catch((error: unknown) =>
          this.#log.error({ err: (error as Error).message, version: release.version, platform: release.platform }, 'could not copy a release from the store into the data dir'),
        )
        .finally(() => this.#copying.delete(id));
      this.#copying.set(id, copying);
    }
    return copying;
  }

  async #write(release: ReleaseRecord): Promise<void> {
    const names = releaseFileNames(release.version, release.platform);
    const dir = join(this.files.root, release.version);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const temp = (file: string) => join(dir, `.${file}.${process.pid}.from-store.tmp`);
    try {
      const out = createWriteStream(temp(names.tarball), { mode: 0o644 });
      for (let index = 0; ; index += 1) {
        const chunk = await this.#store.releaseChunk(release.version, release.platform, index);
        if (!chunk) break;
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await finished(out);
      await rename(temp(names.tarball), join(dir, names.tarball));
      await writeFile(temp(names.signature), release.signature, { mode: 0o644 });
      await rename(temp(names.signature), join(dir, names.signature));
      await writeFile(temp(names.manifest), release.manifest, { mode: 0o644 });
      await rename(temp(names.manifest), join(dir, names.manifest));
      this.#log.info({ version: release.version, platform: release.platform }, 'release copied from the store into the data dir');
    } finally {
      await Promise.all([names.tarball, names.signature, names.manifest].map((file) => rm(temp(file), { force: true })));
    }
  }
}
