// Every error class of tether's own: a TetherError whose `name` is its class name (what logs and
// stack traces show) and whose `code` is a stable string; one UsageError for every CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TetherError, UsageError } from '../src/errors.ts';
import { ConfigError } from '../src/config/config-error.ts';
import { YamlSyntaxError } from '../src/config/yaml-errors.ts';
import { ManifestError } from '../src/release/manifest.ts';
import { ReleaseVerificationError } from '../src/release/verify.ts';
import { ReleaseKeyError } from '../src/release/signing.ts';
import { InstallError } from '../src/release/install.ts';
import { HttpError } from '../../hub/src/http/http-error.ts';
import { PublishError } from '../../hub/src/releases/publish.ts';
import { ReleaseKeysError } from '../../hub/src/releases/release-keys.ts';
import { HubError, UsageError as HubUsageError } from '../../hub/src/cli/usage-error.ts';
import { StoreSchemaError } from '../../hub/src/store/store.ts';
import { UnsafeValue } from '../../agent/src/actions/safe-values.ts';
import { PinError } from '../../agent/src/pins.ts';
import { UpdateRefused } from '../../agent/src/update/stage-update.ts';
import { DownloadError } from '../../agent/src/update/http-download.ts';
import { HttpFailure } from '../../agent/src/transport/hub-http-api.ts';
import { AgeError } from '../../agent/src/backup/age/age-error.ts';
import { HubUnreachable } from '../../agent/src/backup/sinks/hub-stream.ts';
import { CrossTargetRestore } from '../../agent/src/backup/restore.ts';
import { CommandFailure } from '../../agent/src/commands/command.ts';
import { EnvironmentError, UsageError as SupervisorUsageError } from '../../supervisor/src/cli-args.ts';
import { ManagerError } from '../../installer/src/output.ts';

const made: Array<[string, TetherError, string]> = [
  ['UsageError', new UsageError('m'), 'TETHER_ERR_USAGE'],
  ['ConfigError', new ConfigError('m'), 'TETHER_ERR_CONFIG'],
  ['YamlSyntaxError', new YamlSyntaxError(['line 1, column 1: x']), 'TETHER_ERR_YAML_SYNTAX'],
  ['ManifestError', new ManifestError('m'), 'TETHER_ERR_MANIFEST'],
  ['ReleaseVerificationError', new ReleaseVerificationError('bad_signature', 'm'), 'bad_signature'],
  ['ReleaseKeyError', new ReleaseKeyError('m'), 'TETHER_ERR_RELEASE_KEY'],
  ['InstallError', new InstallError('m'), 'TETHER_ERR_INSTALL'],
  ['HttpError', new HttpError(413, 'm'), 'TETHER_ERR_HTTP_413'],
  ['PublishError', new PublishError('m'), 'TETHER_ERR_PUBLISH'],
  ['ReleaseKeysError', new ReleaseKeysError('m'), 'TETHER_ERR_RELEASE_KEYS'],
  ['HubError', new HubError('m'), 'TETHER_ERR_HUB'],
  ['StoreSchemaError', new StoreSchemaError('m'), 'TETHER_ERR_STORE_SCHEMA'],
  ['UnsafeValue', new UnsafeValue('m'), 'TETHER_ERR_UNSAFE_VALUE'],
  ['PinError', new PinError('m'), 'TETHER_ERR_PIN'],
  ['UpdateRefused', new UpdateRefused('m'), 'TETHER_ERR_UPDATE_REFUSED'],
  ['DownloadError', new DownloadError('m', false), 'TETHER_ERR_DOWNLOAD'],
  ['HttpFailure', new HttpFailure(503, 'm'), 'TETHER_ERR_HTTP_503'],
  ['AgeError', new AgeError('AGE_HEADER', 'm'), 'AGE_HEADER'],
  ['HubUnreachable', new HubUnreachable('m'), 'TETHER_ERR_HUB_UNREACHABLE'],
  ['CrossTargetRestore', new CrossTargetRestore('m'), 'TETHER_ERR_CROSS_TARGET_RESTORE'],
  ['CommandFailure', new CommandFailure('invalid_params', 'm'), 'invalid_params'],
  ['EnvironmentError', new EnvironmentError('m'), 'TETHER_ERR_ENVIRONMENT'],
  ['ManagerError', new ManagerError('m', 2), 'TETHER_ERR_MANAGER'],
];

test('every error class is a TetherError named after its class, with a stable code', () => {
  for (const [name, error, code] of made) {
    assert.ok(error instanceof TetherError, `${name} extends TetherError`);
    assert.ok(error instanceof Error, `${name} is an Error`);
    assert.equal(error.name, name);
    assert.equal(error.constructor.name, name);
    assert.equal(error.code, code, `${name}.code`);
    assert.equal(error.message.length > 0, true);
    assert.match(String(error), new RegExp(`^${name}: `), 'toString and stack traces show the class');
  }
});

test('one UsageError for the hub CLI and the supervisor', () => {
  assert.equal(HubUsageError, UsageError);
  assert.equal(SupervisorUsageError, UsageError);
});
