import { defineBackendConformance } from '@densessm/backend-conformance';
import { createNodeBackend } from '../src/index.js';

defineBackendConformance('onnxruntime-node (cpu)', () => createNodeBackend({ threads: 2 }));
