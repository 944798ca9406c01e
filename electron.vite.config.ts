// electron-vite builds the three parts of the desktop app into out/: main (CommonJS, Node deps external),
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
        input: { index: resolve(__dirname, 'main/app/main.ts'), 'decode-worker': resolve(__dirname, 'main/services/decode-worker.ts') },
        output: { format: 'cjs', entryFileNames: '[name].js' },
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
