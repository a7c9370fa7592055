import { createNodeBackend } from '@densessm/backend-node';
import { createWebBackend } from '@densessm/backend-web';
import type { Backend } from '@densessm/tensor';

/** The backends every graph test runs on: onnxruntime-node (CPU) and onnxruntime-web (wasm, in Node). */
export const BACKENDS: readonly { name: string; make: () => Backend }[] = [
  { name: 'backend-node', make: () => createNodeBackend({ threads: 1 }) },
  { name: 'backend-web', make: () => createWebBackend({ executionProviders: ['wasm'], threads: 1 }) },
];
