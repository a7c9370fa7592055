export {
  AcceptanceCalibration,
  type AdaptiveOptions,
  type PassCost,
  PassCostModel,
  SpeculationPolicy,
} from './adaptive-speculation.js';
export { CompositeDrafter, mergeTrees } from './composite-drafter.js';
export { DraftModelDrafter, type DraftModelOptions } from './draft-model-drafter.js';
export { type DraftNodeOptions, type DraftProposal, DraftTree } from './draft-tree.js';
export type { Drafter, DraftRequest, VerifyOutcome } from './drafter.js';
export {
  type AutoDrafterOptions,
  autoDrafter,
  lookaheadFromTensors,
  medusaHeadsFromTensors,
  type NamedTensor,
} from './drafter-assets.js';
export { SpeculativeError, type SpeculativeErrorCode } from './errors.js';
export { type GenerateOptions, type Generation, generate, TokenStream } from './generate.js';
export { gumbelTopK } from './gumbel-top-k.js';
export { type MedusaHead, MedusaHeadsDrafter, type MedusaHeadsOptions } from './medusa-heads-drafter.js';
export {
  acceptanceByDepth,
  addMetrics,
  emptyMetrics,
  meanAcceptedLength,
  type SpeculationMetrics,
} from './metrics.js';
export { PassLookaheadDrafter, type PassLookaheadOptions } from './pass-lookahead-drafter.js';
export { PromptLookupDrafter, type PromptLookupOptions } from './prompt-lookup-drafter.js';
export { counterUniform, RandomStream } from './random.js';
export {
  greedyToken,
  isGreedy,
  type SamplingOptions,
  sampleFromDistribution,
  samplingDistribution,
} from './sampling.js';
export {
  type FinishReason,
  type RoundEvent,
  type SequenceOptions,
  type SequenceResult,
  SpeculativeBatch,
  type SpeculativeBatchOptions,
} from './speculative-batch.js';
export {
  type BenchPromptSet,
  runSpeculativeBench,
  type SpeculativeBenchOptions,
  type SpeculativeBenchRow,
} from './speculative-bench.js';
export { type GeneratedToken, StopStringMatcher, type TokenDecoder } from './stop-strings.js';
export { TextBridgeDrafter, type TextBridgeOptions, type TokenizerBridge } from './text-bridge-drafter.js';
export { TokenRecyclingDrafter, type TokenRecyclingOptions } from './token-recycling-drafter.js';
export {
  buildTreeTemplate,
  defaultRankPriors,
  type TreeTemplate,
  type TreeTemplateOptions,
} from './tree-template.js';
export { type TreeVerdict, type VerifyContext, verifyTreeGreedy, verifyTreeSampling } from './verify-tree.js';
