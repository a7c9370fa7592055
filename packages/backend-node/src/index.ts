import { availableParallelism } from 'node:os';
import type { Backend, DType, Session, SessionOptions, Tensor } from '@densessm/tensor';
import {
  BackendError,
  OrtSessionAdapter,
  type OrtSessionLike,
  type OrtTensorLike,
} from '@densessm/tensor/backend-kit';
import * as ort from 'onnxruntime-node';

export { BackendError } from '@densessm/tensor';

export interface NodeBackendOptions {
  /** Intra-op threads per session. Default: `os.availableParallelism()`. */
  threads?: number;
  /**
   * Execution providers in order of preference (e.g. ['cuda', 'cpu']). Default ['cpu']. Names the installed
   * binary lacks are dropped; 'cpu' is always appended as the last resort, so every op has a kernel.
   */
  executionProviders?: readonly string[];
  /** Graph optimisation level. Default 'all'. */
  graphOptimization?: SessionOptions['graphOptimization'];
  /** Validate feeds (names, dtypes, shapes) before each run. Default true; costs microseconds. */
  validateFeeds?: boolean;
}

/** The backend plus what it resolved, for logs and benchmarks. */
export interface NodeBackend extends Backend {
  readonly threads: number;
  readonly executionProviders: readonly string[];
  /** Providers the installed onnxruntime-node binary can use. */
  readonly availableExecutionProviders: readonly string[];
}

function availableProviders(): string[] {
  try {
    return ort.listSupportedBackends().map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

function resolveProviders(requested: readonly string[] | undefined, available: readonly string[]): string[] {
  const wanted = (requested ?? ['cpu']).map((p) => p.toLowerCase());
  const usable = wanted.filter((p) => available.includes(p));
  if (usable.length === 0 && wanted.length > 0 && !wanted.includes('cpu')) {
    throw new BackendError(
      'EP_UNAVAILABLE',
      `none of the execution providers [${wanted.join(', ')}] is in this onnxruntime-node build (available: ${available.join(', ')}); ` +
        `ask for one of those or add 'cpu'`,
    );
  }
  if (!usable.includes('cpu')) usable.push('cpu');
  return usable;
}

function makeTensor(dtype: DType, data: Tensor['data'], dims: readonly number[]): OrtTensorLike {
  // ort.Tensor wraps the typed array (no copy); float16 travels as Uint16Array bits.
  return new ort.Tensor(dtype, data as never, dims);
}

/**
 * A `Backend` on onnxruntime-node: CPU by default, `threads` intra-op threads, 1 inter-op thread, sequential
 * execution. Sessions validate feeds and report failures as `BackendError` naming the session.
 */
export function createNodeBackend(options: NodeBackendOptions = {}): NodeBackend {
  const available = availableProviders();
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new BackendError('INVALID_OPTION', `threads must be a positive integer, got ${threads}`);
  }
  const providers = resolveProviders(options.executionProviders, available);
  let counter = 0;
  return {
    name: 'onnxruntime-node',
    threads,
    executionProviders: providers,
    availableExecutionProviders: available,
    async createSession(model: Uint8Array, sessionOptions: SessionOptions = {}): Promise<Session> {
      const name = sessionOptions.name ?? `session-${counter++}`;
      const eps = sessionOptions.executionProviders
        ? resolveProviders(sessionOptions.executionProviders, available)
        : providers;
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(model, {
          executionProviders: eps,
          intraOpNumThreads: sessionOptions.threads ?? threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: sessionOptions.graphOptimization ?? options.graphOptimization ?? 'all',
          logSeverityLevel: 3,
        });
      } catch (e) {
        throw new BackendError(
          'INVALID_MODEL',
          `session '${name}': onnxruntime-node could not load the model (${model.length} bytes): ${(e as Error)?.message ?? String(e)}`,
          name,
          { cause: e },
        );
      }
      return new OrtSessionAdapter(session as unknown as OrtSessionLike, {
        name,
        makeTensor,
        serialize: false,
        validate: options.validateFeeds ?? true,
      });
    },
  };
}
