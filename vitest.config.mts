import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // single-file components, for the renderer tests that mount one (test/unit/renderer/heatmap-partials.test.ts)
  plugins: [vue()],
  test: {
    include: ['test/unit/**/*.test.ts', 'common/**/*.test.ts', 'main/**/*.test.ts', 'renderer/src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
