/**
 * The server's view of inference: a small interface the HTTP layer and the scheduler meet at.
 * `WorkerEngine` implements it over a worker thread (the production path); `LocalEngine` runs the same
 * scheduler on the calling thread (tests). The messages below cross the worker boundary, so they are plain data.
 */

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
  name?: string;
}

export type EngineInput = { kind: 'chat'; messages: ChatMessage[] } | { kind: 'text'; prompt: string };

export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  topP: number;
  seed: number | null;
  maxTokens: number;
  stop: string[];
}

export interface EngineRequest {
  id: string;
  input: EngineInput;
  sampling: SamplingParams;
  /** Drafter name from `EngineInfo.drafters`, `'none'` for plain decoding, or null for the server default. */
  drafter: string | null;
}

/** One request's speculative bookkeeping (DESIGN.md section 5 metrics), reported when it leaves the batch. */
export interface SpeculationSummary {
  /** Target passes (verify or step) the sequence took part in. */
  targetPasses: number;
  /** Passes whose tree held at least one draft token (vLLM's "drafts"). */
  draftedPasses: number;
  /** Draft tokens verified. */
  draftTokens: number;
  /** Draft tokens accepted. */
  acceptedTokens: number;
  /** acceptedPerPosition[d]: passes that accepted a draft token at depth d + 1. */
  acceptedPerPosition: number[];
  /** Time spent prefilling the prompt. */
  prefillMs: number;
}

export type FinishReason = 'stop' | 'length' | 'cancelled' | 'error';

export type EngineEvent =
  /** The request joined the running batch (its prompt is prefilled). */
  | {
      type: 'started';
      promptTokens: number;
      drafter: string /** ms the (batched) prefill took */;
      prefillMs: number;
    }
  /** Text produced by one round (may be empty when a stop-string prefix is held back). */
  | { type: 'text'; text: string; tokens: number }
  | {
      type: 'done';
      finishReason: FinishReason;
      promptTokens: number;
      completionTokens: number;
      speculation: SpeculationSummary | null;
    }
  | {
      type: 'error';
      code: string;
      message: string /** true when the request itself was at fault */;
      badRequest: boolean;
    };

export interface EngineInfo {
  modelId: string;
  /** Drafters a request may name in its `drafter` field. */
  drafters: string[];
  defaultDrafter: string;
  contextLength: number | null;
}

export interface EngineLoad {
  running: number;
  waiting: number;
}

/** One submitted request: its event stream (ends after `done` or `error`) and a way to stop it. */
export interface RequestHandle {
  readonly events: AsyncIterable<EngineEvent>;
  /** Stops the request within one round and frees its batch slot; a `done` with `cancelled` follows. */
  cancel(): void;
}

export interface Engine {
  /** Resolves when the model is loaded; rejects with `EngineLoadError`. */
  load(): Promise<EngineInfo>;
  readonly info: EngineInfo | null;
  submit(request: EngineRequest): RequestHandle;
  /** Requests in the running batch and in the queue, as seen from this thread. */
  occupancy(): EngineLoad;
  /** Finishes or cancels everything and frees the model (and the worker). */
  close(): Promise<void>;
}
