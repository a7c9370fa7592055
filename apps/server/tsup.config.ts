import { defineConfig } from 'tsup';

export default defineConfig({
  // The inference worker is its own entry: worker_threads loads it by file URL next to index.js.
  entry: ['src/index.ts', 'src/cli.ts', 'src/inference-worker.ts'],
  format: ['esm'],
  // Tests rebuild the JS before running (global-setup.ts) and skip the slower declaration pass.
  dts: process.env.DENSESSM_SKIP_DTS ? false : { entry: ['src/index.ts'] },
  sourcemap: true,
  clean: !process.env.DENSESSM_SKIP_DTS,
  target: 'es2022',
});
