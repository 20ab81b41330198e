// Published releases in <data-dir>/releases/<version>/: per platform a tarball, its manifest and
// the manifest's signature (names from releaseFileNames). Read from disk on every request, so a
// `tether hub publish` is served at once without restarting the hub.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest, releaseFileNames } from '@tether/shared/release/manifest.ts';
import type { ReleaseManifest } from '@tether/shared/release/manifest.ts';
import { isValidVersion, parseVersion, sortVersions } from '@tether/shared/release/versions.ts';

export interface ReleaseListing extends ReleaseManifest {
  tarball: string;
  manifest: string;
  signature: string;
}

const PLATFORM = /^[a-z0-9]+-[a-z0-9]+$/;

export class ReleaseStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'releases');
  }

  versions(): string[] {
    try {
      return sortVersions(
        readdirSync(this.root, { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => entry.name),
      );
    } catch {
      return [];
    }
  }

  /** One version for one platform, when all three files are there and the manifest parses. */
  find(version: string, platform: string): ReleaseListing | undefined {
    if (!isValidVersion(version) || !PLATFORM.test(platform)) return undefined;
    const names = releaseFileNames(version, platform);
    const dir = join(this.root, version);
    try {
      for (const file of [names.tarball, names.signature]) statSync(join(dir, file));
      const manifest = parseManifest(readFileSync(join(dir, names.manifest)));
      if (manifest.version !== version || manifest.platform !== platform) return undefined;
      return { ...manifest, tarball: names.tarball, manifest: names.manifest, signature: names.signature };
    } catch {
      return undefined;
    }
  }

  /** Every published version, newest first, with each platform whose three files are all there. */
  published(): Array<{ version: string; platforms: ReleaseListing[] }> {
    return this.versions()
      .reverse()
      .map((version) => {
        const prefix = `tether-agent-${version}-`;
        let names: string[] = [];
        try {
          names = readdirSync(join(this.root, version));
        } catch {
          // removed meanwhile: no platforms
        }
        const platforms = names
          .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
          .map((name) => this.find(version, name.slice(prefix.length, -'.json'.length)))
          .filter((found): found is ReleaseListing => found !== undefined);
        return { version, platforms };
      })
      .filter((release) => release.platforms.length > 0);
  }

  /** The highest published release (pre-releases only when named explicitly) for a platform. */
  latest(platform: string): ReleaseListing | undefined {
    const stable = this.versions().filter((version) => parseVersion(version)!.prerelease.length === 0);
    for (const version of stable.reverse()) {
      const found = this.find(version, platform);
      if (found) return found;
    }
    return undefined;
  }

  /** Path of a release file, only for a name that belongs to that version (no traversal possible). */
  filePath(version: string, file: string): string | undefined {
    if (!isValidVersion(version)) return undefined;
    const prefix = `tether-agent-${version}-`;
    if (!file.startsWith(prefix)) return undefined;
    const match = /^([a-z0-9]+-[a-z0-9]+)\.(tar\.gz|json|json\.sig)$/.exec(file.slice(prefix.length));
    if (!match) return undefined;
    const path = join(this.root, version, file);
    try {
      return statSync(path).isFile() ? path : undefined;
    } catch {
      return undefined;
    }
  }
}
