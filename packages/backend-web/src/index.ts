import type { Backend, DType, SessionOptions, Tensor } from '@densessm/tensor';
import * as kit from '@densessm/tensor/backend-kit';
import * as ort from 'onnxruntime-web';

export { BackendError } from '@densessm/tensor';

export type WebExecutionProvider = 'webgpu' | 'wasm';

export interface WebBackendOptions extends kit.OrtBackendOptions {
  /**
   * wasm threads (`ort.env.wasm.numThreads`). Default: onnxruntime-web's choice. Threads above 1 need a
   * cross-origin-isolated page (COOP/COEP headers) in browsers. This is a process-wide setting that takes effect
   * only before the first session is created.
   */
  threads?: number;
  /** Providers in order of preference. Default ['webgpu', 'wasm']: WebGPU when the browser has it, else wasm. */
  executionProviders?: readonly WebExecutionProvider[];
  /** Where the .wasm files are served from (`ort.env.wasm.wasmPaths`), e.g. a CDN folder or '/ort/'. */
  wasmPaths?: string | Record<string, string>;
}

/** A session of this backend; `executionProviders` tells what it actually runs on. */
export type WebSession = kit.OrtBackedSession;

export interface WebBackend extends Backend {
  createSession(model: Uint8Array, options?: SessionOptions): Promise<WebSession>;
  /** The providers sessions are created with, after dropping WebGPU where it is unavailable. */
  readonly executionProviders: Promise<readonly WebExecutionProvider[]>;
}

interface GpuAdapterLike {
  readonly features?: { has(name: string): boolean };
}

async function requestAdapter(): Promise<GpuAdapterLike | undefined> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } } })
    .navigator?.gpu;
  if (!gpu) return undefined;
  try {
    return (await gpu.requestAdapter()) ?? undefined;
  } catch {
    return undefined;
  }
}

/** True when this JavaScript environment exposes a WebGPU adapter. */
export async function isWebGpuAvailable(): Promise<boolean> {
  return (await requestAdapter()) !== undefined;
}

/**
 * True when WebGPU can compute in float16 (the adapter has 'shader-f16'). Without it onnxruntime-web 1.30 returns
 * zeros from float16 kernels (measured), so this backend runs graphs with float16 inputs/outputs on wasm instead.
 */
export async function isWebGpuFloat16Available(): Promise<boolean> {
  return (await requestAdapter())?.features?.has('shader-f16') ?? false;
}

function makeTensor(dtype: DType, data: Tensor['data'], dims: readonly number[]): kit.OrtTensorLike {
  return new ort.Tensor(dtype, data as never, dims);
}

/** onnxruntime-web's wasm runtime initialises once and cannot create sessions concurrently: one at a time. */
let createQueue: Promise<unknown> = Promise.resolve();

function enqueueCreate<T>(task: () => Promise<T>): Promise<T> {
  const result = createQueue.then(task);
  createQueue = result.catch(() => undefined);
  return result;
}

function message(e: unknown): string {
  return (e as Error)?.message ?? String(e);
}

/**
 * A `Backend` on onnxruntime-web: WebGPU when asked and available, falling back to wasm (per session, also when
 * WebGPU fails to create it). Runs in browsers and, through the wasm build, in Node. Each session runs one call
 * at a time, as onnxruntime-web requires; concurrent `run` calls queue.
 */
export function createWebBackend(options: WebBackendOptions = {}): WebBackend {
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new kit.BackendError(
        'INVALID_OPTION',
        `threads must be a positive integer, got ${options.threads}`,
      );
    }
    ort.env.wasm.numThreads = options.threads;
  }
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths as never;
  const requested = options.executionProviders ?? ['webgpu', 'wasm'];
  for (const p of requested) {
    if (p !== 'webgpu' && p !== 'wasm') {
      throw new kit.BackendError(
        'EP_UNAVAILABLE',
        `onnxruntime-web provider '${String(p)}' is not supported; use 'webgpu' or 'wasm'`,
      );
    }
  }
  const providers: Promise<WebExecutionProvider[]> = (async () => {
    const list =
      requested.includes('webgpu') && !(await isWebGpuAvailable())
        ? requested.filter((p) => p !== 'webgpu')
        : [...requested];
    if (list.length === 0) {
      throw new kit.BackendError(
        'EP_UNAVAILABLE',
        `WebGPU is not available here and 'wasm' was not allowed; add 'wasm' to executionProviders`,
      );
    }
    return list;
  })();
  let counter = 0;
  let float16OnGpu: Promise<boolean> | undefined;
  const usesFloat16 = (session: { inputMetadata?: unknown; outputMetadata?: unknown }) =>
    [session.inputMetadata, session.outputMetadata].some(
      (list) => Array.isArray(list) && list.some((m: { type?: string }) => m?.type === 'float16'),
    );

  const create = async (
    model: Uint8Array,
    eps: readonly WebExecutionProvider[],
    so: SessionOptions,
    name: string,
  ) =>
    ort.InferenceSession.create(model, {
      executionProviders: [...eps],
      executionMode: 'sequential',
      graphOptimizationLevel: so.graphOptimization ?? options.graphOptimization ?? 'all',
      logSeverityLevel: 4, // fatal only: errors reach the caller as BackendError with the full message
      logId: name,
    });

  return {
    name: 'onnxruntime-web',
    executionProviders: providers,
    async createSession(model: Uint8Array, so: SessionOptions = {}): Promise<WebSession> {
      const name = so.name ?? `session-${counter++}`;
      let eps = await providers;
      if (so.executionProviders) {
        const asked = so.executionProviders.filter((p): p is WebExecutionProvider =>
          eps.includes(p as WebExecutionProvider),
        );
        if (asked.length > 0) eps = asked;
      }
      let used: readonly WebExecutionProvider[] = eps;
      const session = await enqueueCreate(async () => {
        try {
          const created = await create(model, eps, so, name);
          if (eps[0] === 'webgpu' && eps.includes('wasm') && usesFloat16(created)) {
            float16OnGpu ??= isWebGpuFloat16Available();
            if (!(await float16OnGpu)) {
              // float16 kernels silently compute zeros on adapters without shader-f16: keep this graph on wasm
              await created.release();
              used = ['wasm'];
              return await create(model, ['wasm'], so, name);
            }
          }
          return created;
        } catch (first) {
          // WebGPU can fail at session creation (device lost, an op it cannot place): retry on wasm alone.
          if (eps.includes('webgpu') && eps.includes('wasm')) {
            try {
              const fallback = await create(model, ['wasm'], so, name);
              used = ['wasm'];
              return fallback;
            } catch {
              // fall through to report the original failure
            }
          }
          throw new kit.BackendError(
            'INVALID_MODEL',
            `session '${name}': onnxruntime-web could not load the model (${model.length} bytes) with [${eps.join(', ')}]: ${message(first)}`,
            name,
            { cause: first },
          );
        }
      });
      return new kit.OrtSessionAdapter(session as unknown as kit.OrtSessionLike, {
        name,
        makeTensor,
        serialize: true,
        validate: options.validateFeeds ?? true,
        executionProviders: used,
      });
    },
  };
}
