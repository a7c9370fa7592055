import { defineBackendConformance } from '@densessm/backend-conformance';
import { createWebBackend } from '../src/index.js';

defineBackendConformance('onnxruntime-web (wasm, in Node)', () =>
  createWebBackend({ executionProviders: ['wasm'] }),
);
