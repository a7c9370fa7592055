import type { Tensor } from './tensor.js';

/** Options a backend may honour when it creates a session; unknown keys are ignored. */
export interface SessionOptions {
  /** Threads for one operator (intra-op). Default: the backend's choice. */
  threads?: number;
  /** Graph optimisation level. Default 'all'. */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Preferred execution providers, in order (e.g. ['webgpu', 'wasm'] or ['cpu']). */
  executionProviders?: readonly string[];
  /** A label for logs and errors. */
  name?: string;
}

/** Per-call options of `Session.run`. */
export interface RunOptions {
  /**
   * Caller-owned tensors that receive outputs, by output name (each with exactly the dtype and dims the graph
   * produces; every name must be among the requested outputs). The result holds these same tensor objects.
   * Saves allocating large outputs such as states on every call. Never pass a buffer that is also fed.
   */
  into?: Readonly<Record<string, Tensor>>;
}

/** One compiled ONNX graph. `run` may be called many times; `release` frees native memory. */
export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Runs the graph. `outputs` limits which outputs are computed and returned (default: all). */
  run(
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
    options?: RunOptions,
  ): Promise<Record<string, Tensor>>;
  release(): Promise<void>;
}

/** A tensor runtime: turns ONNX model bytes into sessions. Implemented by backend-node and backend-web. */
export interface Backend {
  readonly name: string;
  createSession(model: Uint8Array, options?: SessionOptions): Promise<Session>;
}
