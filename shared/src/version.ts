import pkg from '../../package.json' with { type: 'json' };

// Release builds replace this identifier with the release version (esbuild `define`, see
// scripts/build.ts); when running from source it does not exist and package.json is used.
declare const __TETHER_RELEASE_VERSION__: string | undefined;

/** The tether version. */
export const VERSION: string = typeof __TETHER_RELEASE_VERSION__ === 'string' ? __TETHER_RELEASE_VERSION__ : pkg.version;
