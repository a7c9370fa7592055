import { defineConfig } from 'tsup';

// Browser-first (also runs in Node): onnxruntime-web stays external so apps bundle and serve its wasm themselves.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  platform: 'neutral',
  dts: true,
  sourcemap: true,
  clean: true,
});
