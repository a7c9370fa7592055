/**
 * Shared plumbing for backends built on an onnxruntime JavaScript API (onnxruntime-node, onnxruntime-web): the
 * error class, feed validation against the model's declared inputs, and a `Session` adapter. Structurally typed,
 * so this package still has no runtime dependency; exported as `@densessm/tensor/backend-kit`.
 */
import type { RunOptions, Session } from './backend.js';
import { type DType, elementCount, type Tensor } from './tensor.js';

export type BackendErrorCode =
  | 'INVALID_MODEL'
  | 'INVALID_OPTION'
  | 'EP_UNAVAILABLE'
  | 'MISSING_FEED'
  | 'UNKNOWN_FEED'
  | 'BAD_FEED'
  | 'UNKNOWN_OUTPUT'
  | 'BAD_OUTPUT'
  | 'UNSUPPORTED_DTYPE'
  | 'RUN_FAILED'
  | 'SESSION_RELEASED';

/** Every failure a backend reports. `session` is the session's name (SessionOptions.name) when known. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    readonly code: BackendErrorCode,
    message: string,
    readonly session?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What a backend knows about one declared graph input. `dims` entries: number = fixed, string = symbolic. */
export interface InputSpec {
  readonly name: string;
  readonly dtype: string;
  readonly dims?: readonly (number | string | undefined | null)[];
}

const DTYPES: ReadonlySet<string> = new Set<DType>(['float32', 'float16', 'int32', 'int64']);

const ARRAY_FOR: Record<DType, new (n: number) => ArrayLike<unknown>> = {
  float32: Float32Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
};

function shapeText(dims: readonly unknown[] | undefined): string {
  return dims ? `[${dims.map((d) => (d === undefined || d === null ? '?' : String(d))).join(', ')}]` : '[?]';
}

function badFeed(spec: InputSpec, sessionName: string, what: string): never {
  throw new BackendError(
    'BAD_FEED',
    `session '${sessionName}': input '${spec.name}' expects ${spec.dtype} ${shapeText(spec.dims)}: ${what}`,
    sessionName,
  );
}

/**
 * Checks feeds against the declared inputs: every input fed, no unknown names, dtypes equal, ranks equal, fixed
 * dims equal, one size per symbolic dim name across all inputs, data length matching dims. Throws BackendError.
 * `known` (the set of input names) may be passed to save rebuilding it on every call.
 */
export function validateFeeds(
  specs: readonly InputSpec[],
  feeds: Readonly<Record<string, Tensor>>,
  sessionName: string,
  known?: ReadonlySet<string>,
): void {
  let symbols: Map<string, { size: number; input: string }> | undefined;
  for (const spec of specs) {
    const t = feeds[spec.name];
    if (t === undefined) {
      throw new BackendError(
        'MISSING_FEED',
        `session '${sessionName}': input '${spec.name}' (${spec.dtype} ${shapeText(spec.dims)}) was not fed; pass it in the feeds`,
        sessionName,
      );
    }
    if (!DTYPES.has(t.dtype))
      badFeed(spec, sessionName, `dtype ${String(t.dtype)} is not one of float32, float16, int32, int64`);
    if (t.dtype !== spec.dtype) badFeed(spec, sessionName, `got ${t.dtype}`);
    if (!(t.data instanceof ARRAY_FOR[t.dtype]))
      badFeed(spec, sessionName, `${t.dtype} data must be a ${ARRAY_FOR[t.dtype].name}`);
    const n = elementCount(t.dims);
    if (t.data.length !== n)
      badFeed(spec, sessionName, `dims ${shapeText(t.dims)} need ${n} elements, data has ${t.data.length}`);
    const dims = spec.dims;
    if (!dims) continue;
    if (dims.length !== t.dims.length)
      badFeed(spec, sessionName, `got rank ${t.dims.length} ${shapeText(t.dims)}`);
    for (let i = 0; i < dims.length; i++) {
      const d = dims[i];
      const got = t.dims[i];
      if (typeof d === 'number') {
        if (d >= 0 && got !== d) badFeed(spec, sessionName, `dim ${i} is ${got}, must be ${d}`);
      } else if (typeof d === 'string' && d.length > 0) {
        symbols ??= new Map();
        const seen = symbols.get(d);
        if (seen === undefined) symbols.set(d, { size: got, input: spec.name });
        else if (seen.size !== got)
          badFeed(
            spec,
            sessionName,
            `dim ${i} ('${d}') is ${got} but '${seen.input}' has ${d} = ${seen.size}`,
          );
      }
    }
  }
  // every declared input is present, so more keys than inputs means an unknown name
  let count = 0;
  for (const _ in feeds) count++;
  if (count === specs.length) return;
  const names = known ?? new Set(specs.map((s) => s.name));
  for (const name of Object.keys(feeds)) {
    if (!names.has(name)) {
      throw new BackendError(
        'UNKNOWN_FEED',
        `session '${sessionName}': '${name}' is not an input of this graph (inputs: ${[...names].join(', ')})`,
        sessionName,
      );
    }
  }
}

/** Options every onnxruntime-based backend takes. */
export interface OrtBackendOptions {
  /** Graph optimisation level. Default 'all'. */
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Validate feeds (names, dtypes, shapes) before each run. Default true; costs well under a microsecond a feed. */
  validateFeeds?: boolean;
}

/** A session of an onnxruntime-based backend; `executionProviders` tells what it actually runs on. */
export interface OrtBackedSession extends Session {
  readonly name: string;
  readonly executionProviders: readonly string[];
}

// ---------------------------------------------------------------------------------------------------------
// A Session over an onnxruntime InferenceSession (node or web), structurally typed.

/** The parts of an onnxruntime `Tensor` we use. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** The parts of an onnxruntime `InferenceSession` we use. */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly {
    readonly name: string;
    readonly isTensor: boolean;
    readonly type?: string;
    readonly shape?: readonly (number | string)[];
  }[];
  /** `fetches`: output names, or name -> pre-allocated tensor (null = let the runtime allocate). */
  run(
    feeds: Record<string, OrtTensorLike>,
    fetches?: readonly string[] | Record<string, OrtTensorLike | null>,
  ): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

export type MakeOrtTensor = (dtype: DType, data: Tensor['data'], dims: readonly number[]) => OrtTensorLike;

export interface OrtSessionAdapterOptions {
  /** Session name for errors. */
  name: string;
  /** Wraps engine data as an onnxruntime tensor (no copy). */
  makeTensor: MakeOrtTensor;
  /** Run calls one at a time (onnxruntime-web requires it). */
  serialize: boolean;
  /** Check feeds before running (default true). */
  validate?: boolean;
  /**
   * The runtime writes outputs straight into pre-allocated tensors passed as fetches (onnxruntime-node does;
   * onnxruntime-web's wasm build does not). When false, `into` outputs are filled by a copy.
   */
  preallocatedOutputs?: boolean;
  /** The execution providers the session was created with (informational). */
  executionProviders?: readonly string[];
}

function toEngineTensor(t: OrtTensorLike, output: string, sessionName: string): Tensor {
  const dims = [...t.dims];
  const d = t.data;
  switch (t.type) {
    case 'float32':
      if (d instanceof Float32Array) return { dtype: 'float32', dims, data: d };
      break;
    case 'float16': {
      if (d instanceof Uint16Array) return { dtype: 'float16', dims, data: d };
      // a runtime that hands back Float16Array: reinterpret its bits
      const v = d as { buffer: ArrayBuffer; byteOffset: number; length: number; BYTES_PER_ELEMENT: number };
      if (v && v.BYTES_PER_ELEMENT === 2)
        return { dtype: 'float16', dims, data: new Uint16Array(v.buffer, v.byteOffset, v.length) };
      break;
    }
    case 'int32':
      if (d instanceof Int32Array) return { dtype: 'int32', dims, data: d };
      break;
    case 'int64':
      if (d instanceof BigInt64Array) return { dtype: 'int64', dims, data: d };
      break;
  }
  throw new BackendError(
    'UNSUPPORTED_DTYPE',
    `session '${sessionName}': output '${output}' is ${t.type}; engine tensors are float32/float16/int32/int64, so Cast it in the graph`,
    sessionName,
  );
}

/** Wraps an onnxruntime InferenceSession as an engine `Session`. */
export class OrtSessionAdapter implements Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly specs: InputSpec[];
  private readonly known: ReadonlySet<string>;
  /** Some input's dtype is unknown (no metadata): take it from the feed. */
  private readonly untyped: boolean;
  /** The last submitted run (serialised sessions chain on it). Resolves to nothing: outputs are not retained. */
  private tail: Promise<void> = Promise.resolve();
  /** Runs not yet settled, so `release` can wait for them; each removes itself when it settles. */
  private readonly inFlight = new Set<Promise<void>>();
  private released = false;

  constructor(
    private readonly session: OrtSessionLike,
    private readonly options: OrtSessionAdapterOptions,
  ) {
    this.inputNames = [...session.inputNames];
    this.outputNames = [...session.outputNames];
    const meta = new Map((session.inputMetadata ?? []).map((m) => [m.name, m]));
    this.specs = this.inputNames.map((name) => {
      const m = meta.get(name);
      return m?.isTensor ? { name, dtype: m.type ?? '?', dims: m.shape } : { name, dtype: '?' };
    });
    this.known = new Set(this.inputNames);
    this.untyped = this.specs.some((s) => s.dtype === '?');
  }

  get name(): string {
    return this.options.name;
  }

  /** The execution providers the session was created with, in order (e.g. ['cpu'] after a fallback). */
  get executionProviders(): readonly string[] {
    return this.options.executionProviders ?? [];
  }

  run(
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
    options?: RunOptions,
  ): Promise<Record<string, Tensor>> {
    if (this.released) {
      const name = this.options.name;
      return Promise.reject(
        new BackendError(
          'SESSION_RELEASED',
          `session '${name}' was released; create a new session to run it again`,
          name,
        ),
      );
    }
    // Serialised: chain on the last run. Otherwise start now. Bookkeeping promises resolve to nothing, so a
    // run's outputs (multi-MB states) stay reachable only through the promise returned to the caller.
    const result = this.options.serialize
      ? this.tail.then(() => this.runNow(feeds, outputs, options?.into))
      : this.runNow(feeds, outputs, options?.into);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.tail = settled;
    this.inFlight.add(settled);
    void settled.then(() => this.inFlight.delete(settled));
    return result;
  }

  private async runNow(
    feeds: Readonly<Record<string, Tensor>>,
    outputs?: readonly string[],
    into?: Readonly<Record<string, Tensor>>,
  ): Promise<Record<string, Tensor>> {
    const name = this.options.name;
    if (this.options.validate !== false) {
      const specs = this.untyped
        ? this.specs.map((s) => (s.dtype === '?' ? { ...s, dtype: feeds[s.name]?.dtype ?? '?' } : s))
        : this.specs;
      validateFeeds(specs, feeds, name, this.known);
    }
    const fetches = outputs ?? this.outputNames;
    for (const o of fetches) {
      if (!this.outputNames.includes(o)) {
        throw new BackendError(
          'UNKNOWN_OUTPUT',
          `session '${name}': '${o}' is not an output of this graph (outputs: ${this.outputNames.join(', ')})`,
          name,
        );
      }
    }
    if (into) this.checkInto(into, fetches, feeds);
    const ortFeeds: Record<string, OrtTensorLike> = {};
    for (const [k, t] of Object.entries(feeds))
      ortFeeds[k] = this.options.makeTensor(t.dtype, t.data, t.dims);
    let result: Record<string, OrtTensorLike>;
    try {
      result = await this.session.run(
        ortFeeds,
        into && this.options.preallocatedOutputs ? this.fetchInto(fetches, into) : fetches,
      );
    } catch (e) {
      const message = (e as Error)?.message ?? String(e);
      // onnxruntime-node reports a pre-allocated output of the wrong shape as a run failure: name it for what it is
      const intoMismatch =
        into !== undefined && /output OrtValue provided|Invalid rank for output/.test(message);
      throw new BackendError(
        intoMismatch ? 'BAD_OUTPUT' : 'RUN_FAILED',
        intoMismatch
          ? `session '${name}': a tensor given in \`into\` does not match the output's shape: ${message}`
          : `session '${name}': run failed: ${message}; check the feeds' shapes against the graph`,
        name,
        { cause: e },
      );
    }
    const out: Record<string, Tensor> = {};
    for (const o of fetches) {
      const t = toEngineTensor(result[o], o, name);
      const target = into?.[o];
      if (target === undefined) {
        out[o] = t;
        continue;
      }
      if (
        t.dtype !== target.dtype ||
        t.dims.length !== target.dims.length ||
        t.dims.some((d, i) => d !== target.dims[i])
      ) {
        throw new BackendError(
          'BAD_OUTPUT',
          `session '${name}': output '${o}' is ${t.dtype} [${t.dims.join(', ')}] but the tensor given in \`into\` is ${target.dtype} [${target.dims.join(', ')}]`,
          name,
        );
      }
      // a runtime with pre-allocated outputs wrote into target's buffer already; otherwise copy (same array kind)
      if (!this.options.preallocatedOutputs) (target.data as Float32Array).set(t.data as Float32Array);
      out[o] = target;
    }
    return out;
  }

  private checkInto(
    into: Readonly<Record<string, Tensor>>,
    fetches: readonly string[],
    feeds: Readonly<Record<string, Tensor>>,
  ): void {
    const name = this.options.name;
    for (const [o, t] of Object.entries(into)) {
      if (!fetches.includes(o)) {
        throw new BackendError(
          'UNKNOWN_OUTPUT',
          `session '${name}': \`into\` names '${o}', which is not among the requested outputs (${fetches.join(', ')})`,
          name,
        );
      }
      if (t.data.length !== elementCount(t.dims)) {
        throw new BackendError(
          'BAD_OUTPUT',
          `session '${name}': \`into\` tensor '${o}' has dims [${t.dims.join(', ')}] but ${t.data.length} elements`,
          name,
        );
      }
      for (const [f, feed] of Object.entries(feeds)) {
        if (feed.data.buffer === t.data.buffer) {
          throw new BackendError(
            'BAD_OUTPUT',
            `session '${name}': \`into\` tensor '${o}' shares its buffer with feed '${f}'; outputs cannot overwrite inputs, use another buffer`,
            name,
          );
        }
      }
    }
  }

  private fetchInto(
    fetches: readonly string[],
    into: Readonly<Record<string, Tensor>>,
  ): Record<string, OrtTensorLike | null> {
    const f: Record<string, OrtTensorLike | null> = {};
    for (const o of fetches) {
      const t = into[o];
      f[o] = t ? this.options.makeTensor(t.dtype, t.data, t.dims) : null;
    }
    return f;
  }

  /** Refuses new runs at once, lets runs already submitted finish, then frees the runtime session. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.all(this.inFlight);
    await this.session.release();
  }
}
