export type { Architecture, ReferenceModel, ReferenceState, RuntimeOptions } from './architecture.js';
export {
  type Checkpoint,
  folderReader,
  loadModel,
  modelFromCheckpoint,
  readCheckpoint,
  referenceFromCheckpoint,
} from './checkpoint.js';
export type { BaseModelConfig, RawConfig } from './config.js';
export { ConfigReader } from './config.js';
export type { DenseRetNetConfig } from './dense-retnet/config.js';
export { ModelError, type ModelErrorCode } from './errors.js';
export {
  argmax,
  createRng,
  generateGreedy,
  generateSampled,
  type SamplingOptions,
  sampleToken,
  samplingDistribution,
} from './generate.js';
export type { WeightPlacement } from './graph/weight-binder.js';
export type * from './language-model.js';
export { type ResolvedConfig, resolveConfig, supportedModelTypes } from './registry.js';
export { PackedState } from './state.js';
export { ModelWeights, type WeightSpec } from './weights.js';
