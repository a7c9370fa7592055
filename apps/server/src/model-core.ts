import type { BatchCore, CoreSpec } from './core.js';
import { EngineLoadError } from './errors.js';

/** The core over the real packages (models + tokenizers + speculative). */
export async function createModelCore(spec: Extract<CoreSpec, { kind: 'model' }>): Promise<BatchCore> {
  throw new EngineLoadError(
    `Cannot load ${spec.folder}: the model-backed engine is not wired yet (waiting for @densessm/speculative). Start with --engine fake to exercise the HTTP layer.`,
  );
}
