// `tether hub publish <release-dir>`: add a release (written by npm run release) to the hub's data
// dir; refused unless its signature verifies against a release key the hub trusts.
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadReleaseKeys, ReleaseKeysError } from '../releases/release-keys.ts';
import { publishRelease, PublishError } from '../releases/publish.ts';
import { HubError, UsageError } from './usage-error.ts';
import { printText } from './output.ts';
import { createLogger } from '@tether/shared/logger.ts';
import { DATABASE_ENV, parseDatabaseOption } from '../store/database-option.ts';
import { describeStoreLocation, openHubStore } from '../store/open-store.ts';
import type { HubStore } from '../store/store.ts';

export function addPublishCommand(hub: Command): void {
  hub
    .command('publish')
    .description('publish a release directory (from npm run release) for agents to update to')
    .argument('<release-dir>', 'directory holding tether-agent-<v>-<platform>.{tar.gz,json,json.sig}')
    .option('--data-dir <dir>', "the hub's data directory", './tether-data')
    .option('--release-keys <file>', 'trusted release public keys (default <data-dir>/release-keys)')
    .option('--database <location>', `the hub's store, as for tether hub: <data-dir>/hub.sqlite by default, or postgres://… so every hub on it serves the release (env ${DATABASE_ENV})`)
    .action(async (releaseDir: string, _options: unknown, command: Command) => {
      // The parent `hub` command defines the same flags; accept them on either side.
      const options = command.optsWithGlobals() as { dataDir: string; releaseKeys?: string; database?: string };
      const database = parseDatabaseOption(options.database, process.env, options.dataDir);
      if (!database.ok) throw new UsageError(database.error);
      let trustedKeys: string[];
      try {
        trustedKeys = loadReleaseKeys(options.dataDir, options.releaseKeys);
      } catch (error) {
        if (error instanceof ReleaseKeysError) throw new UsageError(error.message);
        throw error;
      }
      const openStore = async (): Promise<HubStore> => {
        try {
          // A SQLite store lives in the data dir, which a first publish may have to create.
          await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
          return await openHubStore(database.location, createLogger({ name: 'tether-publish', level: 'warn' }));
        } catch (error) {
          throw new HubError(`could not open the store (${describeStoreLocation(database.location)}): ${(error as Error).message}`);
        }
      };
      try {
        const published = await publishRelease({ releaseDir, dataDir: options.dataDir, trustedKeys, openStore });
        for (const release of published) {
          printText(`published ${release.version} for ${release.platform} (signed by release key ${release.keyId})`);
        }
      } catch (error) {
        if (error instanceof PublishError) throw new HubError(error.message);
        throw error;
      }
    });
}
