// `tether release-key generate --out DIR`: a new Ed25519 release key pair (private key 0600).
import type { Command } from 'commander';
import { generateReleaseKey, ReleaseKeyError } from '@tether/shared/release/signing.ts';
import { UsageError } from './usage-error.ts';
import { printText } from './output.ts';

export function addReleaseKeyCommand(program: Command): void {
  const releaseKey = program.command('release-key').description('manage the key that signs agent releases');
  releaseKey
    .command('generate')
    .description('create release-key.pem (private, 0600; keep it out of the repo and releases) and release-key.pub')
    .requiredOption('--out <dir>', 'directory for the key pair (created 0700)')
    .action(async (options: { out: string }) => {
      try {
        const result = await generateReleaseKey({ out: options.out });
        printText(result.summary);
      } catch (error) {
        if (error instanceof ReleaseKeyError) throw new UsageError(error.message);
        throw error;
      }
    });
}
