import { defineConfig } from 'tsup';

// A Node-only package: onnxruntime-node (a native addon) stays an external dependency.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  platform: 'node',
  dts: true,
  sourcemap: true,
  clean: true,
});
