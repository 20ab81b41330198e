import pkg from '../../package.json' with { type: 'json' };

/** The tether version. Release builds replace it with the release version (esbuild define). */
export const VERSION: string = pkg.version;
