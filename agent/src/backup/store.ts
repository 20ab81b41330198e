// The local artifact store: <dir>/<target>/<id>.<ext> plus <id>.json (the manifest). Directories
// are 0700, files 0600. Only artifacts with a valid manifest exist as far as anyone is concerned.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '@tether/shared/atomic-file.ts';
import type { BackupConfig, BackupTarget } from './config-schema.ts';
import { ARTIFACT_ID_PATTERN, manifestSchema } from './manifest.ts';
import type { Manifest } from './manifest.ts';
import type { RetentionPolicy } from './retention.ts';

export class ArtifactStore {
  private readonly config: BackupConfig;
  private readonly baseDir: string;

  constructor(config: BackupConfig, stateDir: string) {
    this.config = config;
    this.baseDir = config.dir ?? join(stateDir, 'backups');
  }

  target(name: string): BackupTarget | undefined {
    return Object.hasOwn(this.config.targets, name) ? this.config.targets[name] : undefined;
  }

  /** The target's retention, or the section's: what this host keeps, and what the hub keeps of its uploads. */
  retention(name: string): RetentionPolicy {
    return this.target(name)?.retention ?? this.config.retention;
  }

  targetNames(): string[] {
    return Object.keys(this.config.targets);
  }

  dirFor(targetName: string): string {
    return this.target(targetName)?.dir ?? join(this.baseDir, targetName);
  }

  async ensureDir(targetName: string): Promise<string> {
    const dir = this.dirFor(targetName);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  newId(targetName: string, now = new Date()): string {
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return `${targetName}-${stamp}-${randomBytes(4).toString('hex')}`;
  }

  artifactPath(manifest: Manifest): string {
    return join(this.dirFor(manifest.target), manifest.file);
  }

  async writeManifest(manifest: Manifest): Promise<void> {
    await writeFileAtomic(join(this.dirFor(manifest.target), `${manifest.id}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  /** Manifests of one target (or all), newest first. Unreadable manifests are skipped. */
  async list(targetName?: string): Promise<Manifest[]> {
    const names = targetName ? [targetName] : this.targetNames();
    const manifests: Manifest[] = [];
    for (const name of names) {
      const dir = this.dirFor(name);
      const files = await readdir(dir).catch(() => [] as string[]);
      for (const file of files) {
        if (!file.endsWith('.json') || !ARTIFACT_ID_PATTERN.test(file.slice(0, -5))) continue;
        const manifest = await this.read(dir, file);
        if (manifest && manifest.target === name) manifests.push(manifest);
      }
    }
    return manifests.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
  }

  private async read(dir: string, file: string): Promise<Manifest | null> {
    try {
      const parsed = manifestSchema.safeParse(JSON.parse(await readFile(join(dir, file), 'utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }

  async find(id: string): Promise<Manifest | null> {
    for (const name of this.targetNames()) {
      const manifest = await this.read(this.dirFor(name), `${id}.json`);
      if (manifest && manifest.id === id && manifest.target === name) return manifest;
    }
    return null;
  }

  /** Removes the manifest first (the artifact stops existing), then the data. */
  async remove(manifest: Manifest): Promise<void> {
    const dir = this.dirFor(manifest.target);
    await rm(join(dir, `${manifest.id}.json`), { force: true });
    await rm(join(dir, manifest.file), { force: true });
  }
}
