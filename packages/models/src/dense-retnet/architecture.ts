import type { Architecture } from '../architecture.js';
import type { RawConfig } from '../config.js';
import { type DenseRetNetConfig, denseRetNetWeightSpecs, parseDenseRetNetConfig } from './config.js';
import { DenseRetNetModel } from './model.js';
import { DenseRetNetReference } from './reference.js';

/** Released DenseSSM checkpoints say `model_type: "llama"` but carry the GAU-RetNet keys. */
function isReleasedDenseRetNet(raw: RawConfig): boolean {
  return raw.model_type === 'llama' && raw.query_key_dim !== undefined && raw.v_factor !== undefined;
}

export const denseRetNetArchitecture: Architecture<DenseRetNetConfig> = {
  modelTypes: ['dense_retnet'],
  claims: isReleasedDenseRetNet,
  parseConfig: parseDenseRetNetConfig,
  weightSpecs: denseRetNetWeightSpecs,
  createModel: async (config, weights, options) => new DenseRetNetModel(config, weights, options),
  createReference: (config, weights) => new DenseRetNetReference(config, weights),
};
