import type { Architecture } from '../architecture.js';
import { MAMBA_MODEL_TYPES, type MambaConfig, parseMambaConfig } from './config.js';
import { MambaModel } from './model.js';
import { MambaReference } from './reference.js';
import { mambaWeightSpecs } from './weights.js';

/** `mamba` (Hugging Face MambaForCausalLM) and `dense_mamba` (SPEC.md). */
export const mambaArchitecture: Architecture<MambaConfig> = {
  modelTypes: MAMBA_MODEL_TYPES,
  parseConfig: parseMambaConfig,
  weightSpecs: mambaWeightSpecs,
  createModel: async (config, weights, options) => new MambaModel(config, weights, options),
  createReference: (config, weights) => new MambaReference(config, weights),
};
