// electron-vite builds the three parts of the desktop app into out/: main (CommonJS, Node deps external; with the
// worker-thread entry and the `sightline` CLI beside it),
// preload (CommonJS, sandboxed: everything bundled), renderer (the same config as browser mode).
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import rendererConfig from './vite.renderer.config';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: true,
      rollupOptions: {
        input: {
          index: resolve(__dirname, 'main/app/main.ts'),
          worker: resolve(__dirname, 'main/workers/worker.ts'),
          cli: resolve(__dirname, 'main/cli/main.ts'),
        },
        // chunks beside the entries: code that finds files by __dirname (main/services/paths.ts, the worker script)
        // sees out/main whichever bundle it ends up in
        output: { format: 'cjs', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      rollupOptions: { input: { index: resolve(__dirname, 'preload/index.ts') }, output: { format: 'cjs' } },
    },
  },
  renderer: {
    ...rendererConfig,
    build: { ...rendererConfig.build, rollupOptions: { input: resolve(__dirname, 'renderer/index.html') } },
  },
});
