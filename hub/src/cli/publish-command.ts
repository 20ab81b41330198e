// `tether hub publish <release-dir>`: add a release (written by npm run release) to the hub's data
// dir; refused unless its signature verifies against a release key the hub trusts.
import type { Command } from 'commander';
import { loadReleaseKeys, ReleaseKeysError } from '../releases/release-keys.ts';
import { publishRelease, PublishError } from '../releases/publish.ts';
import { HubError, UsageError } from './usage-error.ts';
import { printText } from './output.ts';

export function addPublishCommand(hub: Command): void {
  hub
    .command('publish')
    .description('publish a release directory (from npm run release) for agents to update to')
    .argument('<release-dir>', 'directory holding tether-agent-<v>-<platform>.{tar.gz,json,json.sig}')
    .option('--data-dir <dir>', "the hub's data directory", './tether-data')
    .option('--release-keys <file>', 'trusted release public keys (default <data-dir>/release-keys)')
    .action(async (releaseDir: string, _options: unknown, command: Command) => {
      // The parent `hub` command defines the same flags; accept them on either side.
      const options = command.optsWithGlobals() as { dataDir: string; releaseKeys?: string };
      let trustedKeys: string[];
      try {
        trustedKeys = loadReleaseKeys(options.dataDir, options.releaseKeys);
      } catch (error) {
        if (error instanceof ReleaseKeysError) throw new UsageError(error.message);
        throw error;
      }
      try {
        const published = await publishRelease({ releaseDir, dataDir: options.dataDir, trustedKeys });
        for (const release of published) {
          printText(`published ${release.version} for ${release.platform} (signed by release key ${release.keyId})`);
        }
      } catch (error) {
        if (error instanceof PublishError) throw new HubError(error.message);
        throw error;
      }
    });
}
