import type { Architecture } from './architecture.js';
import { type BaseModelConfig, ConfigReader, type RawConfig } from './config.js';
import { denseRetNetArchitecture } from './dense-retnet/architecture.js';
import { ModelError } from './errors.js';
import { mambaArchitecture } from './mamba/architecture.js';

/** Every architecture the engine knows. Architectures add themselves here (one line each). */
const ARCHITECTURES: readonly Architecture<BaseModelConfig>[] = [denseRetNetArchitecture, mambaArchitecture];

/** `model_type` values accepted, for messages and docs. */
export function supportedModelTypes(): string[] {
  return ARCHITECTURES.flatMap((a) => a.modelTypes);
}

/** An architecture and its parsed config for a `config.json`. */
export interface ResolvedConfig {
  readonly architecture: Architecture<BaseModelConfig>;
  readonly config: BaseModelConfig;
}

/**
 * Picks the architecture for a config by `model_type` (or an architecture's `claims`, e.g. released
 * DenseSSM checkpoints saying "llama") and parses the config with it.
 */
export function resolveConfig(raw: RawConfig, file: string): ResolvedConfig {
  const modelType = raw.model_type;
  const architecture =
    ARCHITECTURES.find((a) => typeof modelType === 'string' && a.modelTypes.includes(modelType)) ??
    ARCHITECTURES.find((a) => a.claims?.(raw));
  if (!architecture) {
    throw new ModelError(
      'UNKNOWN_MODEL_TYPE',
      `${file}: model_type ${JSON.stringify(modelType)} is not supported; supported: ${supportedModelTypes().join(', ')} ` +
        '(and "llama" configs of released DenseSSM checkpoints carrying query_key_dim and v_factor)',
    );
  }
  return { architecture, config: architecture.parseConfig(new ConfigReader(raw, file)) };
}
