import { defineConfig } from 'tsup';

export default defineConfig({
  // The inference worker is its own entry: worker_threads loads it by file URL next to index.js.
  entry: ['src/index.ts', 'src/cli.ts', 'src/inference-worker.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts'] },
  sourcemap: true,
  clean: true,
  target: 'es2022',
});
