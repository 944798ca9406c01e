// Renderer build: plain Vite + Vue. Electron-vite reuses this config for its renderer section.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const fromRoot = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: fromRoot('./renderer'),
  // Relative asset URLs: the same build is served by Electron's app:// protocol and by the browser-mode server at '/'.
  base: './',
  plugins: [vue()],
  resolve: {
    alias: { '@': fromRoot('./renderer/src') },
  },
  build: {
    outDir: fromRoot('./out/renderer'),
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts: the CSP forbids them. The polyfill would be bundled, not inlined, but Chromium needs none.
    modulePreload: { polyfill: false },
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
});
