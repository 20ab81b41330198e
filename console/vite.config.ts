// Vite builds the console into dist/, which the hub serves at `/` (hub/src/console/static-files.ts).
// No inline script or style ends up in index.html: the hub's Content-Security-Policy forbids them.
import { defineConfig } from 'vite';
import preact from '@preact/preset-vite';

export default defineConfig({
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Inlined assets would be data: URLs; keep every asset a file the CSP allows as 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
