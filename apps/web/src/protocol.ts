/** Messages between the page and the generation worker. */
export type DrafterName = 'none' | 'lookup' | 'recycling' | 'heads' | 'lookahead' | 'auto';

export type ToWorker =
  | { type: 'load'; modelUrl: string; threads: number; providers: ('webgpu' | 'wasm')[] }
  | {
      type: 'generate';
      prompt: string;
      maxTokens: number;
      temperature: number;
      seed: number;
      drafter: DrafterName;
    }
  | { type: 'stop' };

export interface GenerationStats {
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  meanAcceptedLength: number;
  drafter: DrafterName;
  finishReason: string;
}

export type FromWorker =
  | { type: 'progress'; file: string; loadedBytes: number; totalBytes: number }
  | { type: 'ready'; modelType: string; backend: string; drafters: DrafterName[] }
  | { type: 'token'; text: string }
  | { type: 'done'; text: string; tokenIds: number[]; stats: GenerationStats }
  | { type: 'error'; message: string };

/** models/index.json, written by the build (vite.config.ts). */
export interface ModelIndex {
  default?: string;
  models: Record<string, string[]>;
}
