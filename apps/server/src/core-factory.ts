import type { BatchCore, CoreSpec } from './core.js';
import { EngineLoadError } from './errors.js';
import { FakeCore } from './fake-core.js';

/** Builds the core a spec names; runs on the inference thread. */
export async function createCore(spec: CoreSpec): Promise<BatchCore> {
  switch (spec.kind) {
    case 'fake':
      return new FakeCore(spec.options);
    case 'model': {
      const { createModelCore } = await import('./model-core.js');
      return createModelCore(spec);
    }
    default:
      throw new EngineLoadError(`Unknown core kind in ${JSON.stringify(spec)}.`);
  }
}
