import { availableParallelism } from 'node:os';
import type { Backend, DType, SessionOptions, Tensor } from '@densessm/tensor';
import * as kit from '@densessm/tensor/backend-kit';
import * as ort from 'onnxruntime-node';

export { BackendError } from '@densessm/tensor';

export interface NodeBackendOptions extends kit.OrtBackendOptions {
  /** Intra-op threads per session. Default: `os.availableParallelism()`. */
  threads?: number;
  /**
   * Execution providers in order of preference (e.g. ['cuda', 'cpu']). Default ['cpu']. Names the installed
   * binary lacks are dropped; 'cpu' is always appended as the last resort, so every op has a kernel.
   */
  executionProviders?: readonly string[];
  /**
   * When a requested non-CPU provider cannot start (e.g. CUDA libraries missing), fail with EP_UNAVAILABLE instead
   * of falling back to CPU. Default false: fall back, and the session's `executionProviders` says ['cpu'].
   */
  strictExecutionProviders?: boolean;
  /**
   * onnxruntime's process-wide log level (`ort.env.logLevel`), effective only before the first session of the
   * process. Default: onnxruntime's ('warning'). 'fatal' also hides the error it logs when a provider fails to load.
   */
  logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
}

/** A session of this backend; `executionProviders` tells what it actually runs on. */
export type NodeSession = kit.OrtBackedSession;

/** The backend plus what it resolved, for logs and benchmarks. */
export interface NodeBackend extends Backend {
  createSession(model: Uint8Array, options?: SessionOptions): Promise<NodeSession>;
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
    throw new kit.BackendError(
      'EP_UNAVAILABLE',
      `none of the execution providers [${wanted.join(', ')}] is in this onnxruntime-node build (available: ${available.join(', ')}); ` +
        `ask for one of those or add 'cpu'`,
    );
  }
  if (!usable.includes('cpu')) usable.push('cpu');
  return usable;
}

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

function makeTensor(dtype: DType, data: Tensor['data'], dims: readonly number[]): kit.OrtTensorLike {
  // ort.Tensor wraps the typed array (no copy); float16 travels as Uint16Array bits.
  return new ort.Tensor(dtype, data as never, dims);
}

/**
 * A `Backend` on onnxruntime-node: CPU by default, `threads` intra-op threads, 1 inter-op thread, sequential
 * execution. Sessions validate feeds and report failures as `BackendError` naming the session.
 */
export function createNodeBackend(options: NodeBackendOptions = {}): NodeBackend {
  if (options.logLevel) ort.env.logLevel = options.logLevel;
  const available = availableProviders();
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new kit.BackendError('INVALID_OPTION', `threads must be a positive integer, got ${threads}`);
  }
  const providers = resolveProviders(options.executionProviders, available);
  let counter = 0;
  return {
    name: 'onnxruntime-node',
    threads,
    executionProviders: providers,
    availableExecutionProviders: available,
    async createSession(model: Uint8Array, sessionOptions: SessionOptions = {}): Promise<NodeSession> {
      const name = sessionOptions.name ?? `session-${counter++}`;
      const eps = sessionOptions.executionProviders
        ? resolveProviders(sessionOptions.executionProviders, available)
        : providers;
      const create = (list: readonly string[]) =>
        ort.InferenceSession.create(model, {
          executionProviders: [...list],
          intraOpNumThreads: sessionOptions.threads ?? threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: sessionOptions.graphOptimization ?? options.graphOptimization ?? 'all',
          // 4 = fatal only: run errors reach the caller as BackendError with the full message, no need to log twice
          logSeverityLevel: 4,
        });
      let session: ort.InferenceSession;
      let used: readonly string[] = eps;
      try {
        session = await create(eps);
      } catch (first) {
        const fail = (e: unknown): never => {
          throw new kit.BackendError(
            'INVALID_MODEL',
            `session '${name}': onnxruntime-node could not load the model (${model.length} bytes): ${message(e)}`,
            name,
            { cause: e },
          );
        };
        if (eps.every((p) => p === 'cpu')) fail(first);
        // A non-CPU provider may be what failed: see whether the CPU alone can load the model.
        try {
          session = await create(['cpu']);
        } catch {
          return fail(first);
        }
        if (options.strictExecutionProviders) {
          await session.release();
          throw new kit.BackendError(
            'EP_UNAVAILABLE',
            `session '${name}': execution providers [${eps.join(', ')}] could not start (${message(first)}); ` +
              `install their libraries or drop them (strictExecutionProviders is on, so no CPU fallback)`,
            name,
            { cause: first },
          );
        }
        used = ['cpu'];
      }
      const adapter = new kit.OrtSessionAdapter(session as unknown as kit.OrtSessionLike, {
        name,
        makeTensor,
        serialize: false,
        preallocatedOutputs: true,
        validate: options.validateFeeds ?? true,
        executionProviders: used,
      });
      return adapter;
    },
  };
}
