/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors format): an 8-byte little-endian
 * header length N, N bytes of JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: {...} }`,
 * then the raw little-endian tensor bytes, offsets relative to the end of the header.
 *
 * Everything here works on a Uint8Array and is browser-safe; file-system helpers live in `@densessm/tensor/node`.
 */
import { bfloat16ToFloat32Array, float16ToFloat32Array } from './float16.js';
import { type DType, elementCount, type Tensor, type TensorData } from './tensor.js';

/** The safetensors dtypes this reader understands. */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'I32' | 'I64';

const ELEMENT_SIZE: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };
/** dtypes of the format that we recognise but do not load. */
const KNOWN_UNSUPPORTED = new Set([
  'F64',
  'I8',
  'U8',
  'I16',
  'U16',
  'U32',
  'U64',
  'BOOL',
  'F8_E4M3',
  'F8_E5M2',
]);
/** The official implementation refuses headers above 100 MB; so do we (a corrupt length would allocate GBs). */
const MAX_HEADER_BYTES = 100_000_000;

export type SafetensorsErrorCode =
  | 'SAFETENSORS_TRUNCATED'
  | 'SAFETENSORS_HEADER_OUT_OF_RANGE'
  | 'SAFETENSORS_BAD_HEADER'
  | 'SAFETENSORS_UNKNOWN_DTYPE'
  | 'SAFETENSORS_BAD_OFFSETS'
  | 'SAFETENSORS_BAD_INDEX'
  | 'SAFETENSORS_MISSING_SHARD'
  | 'SAFETENSORS_MISSING_TENSOR'
  | 'SAFETENSORS_NOT_FOUND'
  | 'SAFETENSORS_BAD_INPUT';

/** Every problem reading or writing safetensors. `file` and `tensor` name where it happened when known. */
export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
  constructor(
    readonly code: SafetensorsErrorCode,
    message: string,
    readonly file?: string,
    readonly tensor?: string,
  ) {
    super(message);
  }
}

/** One tensor as stored: raw element type and (usually zero-copy) typed data. F16 and BF16 are raw bits. */
export interface SafetensorsEntry {
  readonly dtype: SafetensorsDType;
  readonly dims: readonly number[];
  readonly data: Float32Array | Uint16Array | Int32Array | BigInt64Array;
}

export interface SafetensorsFile {
  /** Free-form string metadata from `__metadata__` (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in header order. */
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
}

export interface ParseSafetensorsOptions {
  /** Name used in error messages (a path or URL). Default '<buffer>'. */
  source?: string;
  /**
   * Copy each tensor's bytes out of `bytes` (default false: views into `bytes` where alignment allows,
   * so the caller must not reuse the buffer while the tensors live).
   */
  copy?: boolean;
}

function typedView(
  dtype: SafetensorsDType,
  bytes: Uint8Array,
  begin: number,
  count: number,
  copy: boolean,
): SafetensorsEntry['data'] {
  const size = ELEMENT_SIZE[dtype];
  let buffer = bytes.buffer;
  let offset = bytes.byteOffset + begin;
  if (copy || offset % size !== 0) {
    const own = bytes.slice(begin, begin + count * size);
    buffer = own.buffer;
    offset = 0;
  }
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer, offset, count);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buffer, offset, count);
    case 'I32':
      return new Int32Array(buffer, offset, count);
    case 'I64':
      return new BigInt64Array(buffer, offset, count);
  }
}

/**
 * Validates the 8-byte header length against the file size; returns N (the JSON header's byte length).
 * `first8` may be shorter than 8 bytes when the file is.
 */
export function safetensorsHeaderLength(first8: Uint8Array, fileLength: number, source = '<buffer>'): number {
  if (fileLength < 8 || first8.length < 8) {
    throw new SafetensorsError(
      'SAFETENSORS_TRUNCATED',
      `${source}: file is ${fileLength} bytes, shorter than the 8-byte header length; the file is truncated or not safetensors`,
      source,
    );
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileLength - 8) || n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      'SAFETENSORS_HEADER_OUT_OF_RANGE',
      `${source}: header length ${n} runs past the end of the ${fileLength}-byte file` +
        (n > BigInt(MAX_HEADER_BYTES) ? ` (or exceeds ${MAX_HEADER_BYTES})` : '') +
        '; the file is truncated or not safetensors',
      source,
    );
  }
  return Number(n);
}

/** Decodes the JSON header bytes into an object. */
export function decodeSafetensorsHeaderJson(json: Uint8Array, source = '<buffer>'): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new SafetensorsError(
      'SAFETENSORS_BAD_HEADER',
      `${source}: header is not valid UTF-8 JSON (${(e as Error).message}); the file is corrupt or not safetensors`,
      source,
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('SAFETENSORS_BAD_HEADER', `${source}: header JSON must be an object`, source);
  }
  return header as Record<string, unknown>;
}

/** Reads the JSON header only (cheap: no tensor data is touched). Returns the header object and data start. */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  source = '<buffer>',
): { header: Record<string, unknown>; dataStart: number } {
  const headerLength = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, source);
  return {
    header: decodeSafetensorsHeaderJson(bytes.subarray(8, 8 + headerLength), source),
    dataStart: 8 + headerLength,
  };
}

/** Where one tensor lives in the data section (validated). */
export interface SafetensorsSlot {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly dims: readonly number[];
  /** Byte range within the data section (which starts right after the header). */
  readonly begin: number;
  readonly end: number;
}

/**
 * Validates a parsed header against the data section's length: dtypes known, shapes well formed, offsets
 * consistent with shapes and inside the data. Returns the metadata and the tensors in header order.
 */
export function planSafetensors(
  header: Record<string, unknown>,
  dataLength: number,
  source = '<buffer>',
): { metadata: Record<string, string>; slots: SafetensorsSlot[] } {
  const metadata: Record<string, string> = {};
  const slots: SafetensorsSlot[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) {
        throw new SafetensorsError(
          'SAFETENSORS_BAD_HEADER',
          `${source}: __metadata__ must be an object of strings`,
          source,
        );
      }
      for (const [k, v] of Object.entries(raw)) metadata[k] = String(v);
      continue;
    }
    const fail = (code: SafetensorsErrorCode, what: string): never => {
      throw new SafetensorsError(code, `${source}: tensor '${name}': ${what}`, source, name);
    };
    if (typeof raw !== 'object' || raw === null)
      fail('SAFETENSORS_BAD_HEADER', 'header entry must be an object');
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info.dtype;
    if (typeof dtype !== 'string' || !(dtype in ELEMENT_SIZE)) {
      const known = typeof dtype === 'string' && KNOWN_UNSUPPORTED.has(dtype);
      fail(
        'SAFETENSORS_UNKNOWN_DTYPE',
        `dtype ${JSON.stringify(dtype)} is ${known ? 'not supported' : 'unknown'}; expected one of ${Object.keys(ELEMENT_SIZE).join(', ')} ` +
          '(convert the checkpoint to float32/float16/bfloat16 first)',
      );
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(
        'SAFETENSORS_BAD_HEADER',
        `shape ${JSON.stringify(shape)} must be an array of non-negative integers`,
      );
    }
    const offsets = info.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offsets[0] > offsets[1]
    ) {
      fail(
        'SAFETENSORS_BAD_OFFSETS',
        `data_offsets ${JSON.stringify(offsets)} must be [begin, end] with 0 <= begin <= end`,
      );
    }
    const st = dtype as SafetensorsDType;
    const dims = shape as number[];
    const [begin, end] = offsets as [number, number];
    const expected = elementCount(dims) * ELEMENT_SIZE[st];
    if (end - begin !== expected) {
      fail(
        'SAFETENSORS_BAD_OFFSETS',
        `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${st} shape [${dims.join(', ')}] needs ${expected}`,
      );
    }
    if (end > dataLength) {
      fail(
        'SAFETENSORS_TRUNCATED',
        `data ends at byte ${end} of the data section but the file has only ${dataLength} data bytes; the file is truncated (re-download or re-save it)`,
      );
    }
    slots.push({ name, dtype: st, dims, begin, end });
  }
  return { metadata, slots };
}

/** Views (or copies, when unaligned or asked) a slot's bytes as its typed array. `bytes` is the data section. */
export function safetensorsSlotData(
  slot: SafetensorsSlot,
  bytes: Uint8Array,
  copy = false,
): SafetensorsEntry['data'] {
  return typedView(slot.dtype, bytes, slot.begin, (slot.end - slot.begin) / ELEMENT_SIZE[slot.dtype], copy);
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array, options: ParseSafetensorsOptions = {}): SafetensorsFile {
  const source = options.source ?? '<buffer>';
  const { header, dataStart } = parseSafetensorsHeader(bytes, source);
  const data = bytes.subarray(dataStart);
  const { metadata, slots } = planSafetensors(header, data.length, source);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const slot of slots) {
    tensors.set(slot.name, {
      dtype: slot.dtype,
      dims: slot.dims,
      data: safetensorsSlotData(slot, data, options.copy ?? false),
    });
  }
  return { metadata, tensors };
}

export interface ToTensorOptions {
  /** Upcast F16 to float32 (BF16 is always upcast: `Tensor` has no bfloat16). Default false. */
  toFloat32?: boolean;
}

/** Converts a stored entry to an engine `Tensor`: F32 -> float32, F16 -> float16 (or float32), BF16 -> float32. */
export function safetensorsEntryToTensor(entry: SafetensorsEntry, options: ToTensorOptions = {}): Tensor {
  const dims = [...entry.dims];
  switch (entry.dtype) {
    case 'F32':
      return { dtype: 'float32', dims, data: entry.data as Float32Array };
    case 'F16':
      return options.toFloat32
        ? { dtype: 'float32', dims, data: float16ToFloat32Array(entry.data as Uint16Array) }
        : { dtype: 'float16', dims, data: entry.data as Uint16Array };
    case 'BF16':
      return { dtype: 'float32', dims, data: bfloat16ToFloat32Array(entry.data as Uint16Array) };
    case 'I32':
      return { dtype: 'int32', dims, data: entry.data as Int32Array };
    case 'I64':
      return { dtype: 'int64', dims, data: entry.data as BigInt64Array };
  }
}

/** Returns a float32 tensor: float16 is upcast, float32 is returned as is; integer tensors are refused. */
export function tensorToFloat32(t: Tensor): Tensor<'float32'> {
  if (t.dtype === 'float32') return t as Tensor<'float32'>;
  if (t.dtype === 'float16')
    return { dtype: 'float32', dims: [...t.dims], data: float16ToFloat32Array(t.data as Uint16Array) };
  throw new SafetensorsError(
    'SAFETENSORS_BAD_INPUT',
    `cannot upcast a ${t.dtype} tensor to float32; only float16/float32 can`,
  );
}

/** Parses a file straight into engine tensors (see `safetensorsEntryToTensor`). */
export function decodeSafetensors(
  bytes: Uint8Array,
  options: ParseSafetensorsOptions & ToTensorOptions = {},
): Map<string, Tensor> {
  const file = parseSafetensors(bytes, options);
  const out = new Map<string, Tensor>();
  for (const [name, entry] of file.tensors) out.set(name, safetensorsEntryToTensor(entry, options));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Sharded checkpoints and whole model folders (storage-agnostic: the caller supplies how to read a file).

export interface SafetensorsIndex {
  readonly metadata: Readonly<Record<string, unknown>>;
  /** tensor name -> shard file name (relative to the index). */
  readonly weightMap: ReadonlyMap<string, string>;
}

/** Parses `model.safetensors.index.json` text. */
export function parseSafetensorsIndex(
  text: string,
  source = 'model.safetensors.index.json',
): SafetensorsIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(
      'SAFETENSORS_BAD_INDEX',
      `${source}: not valid JSON (${(e as Error).message})`,
      source,
    );
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) {
    throw new SafetensorsError(
      'SAFETENSORS_BAD_INDEX',
      `${source}: expected an object with a "weight_map" of tensor name -> shard file name`,
      source,
    );
  }
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(wm)) {
    if (typeof file !== 'string' || file.length === 0 || file.includes('..')) {
      throw new SafetensorsError(
        'SAFETENSORS_BAD_INDEX',
        `${source}: weight_map entry '${name}' must name a shard file in the same folder, got ${JSON.stringify(file)}`,
        source,
        name,
      );
    }
    weightMap.set(name, file);
  }
  const metadata = ((json as { metadata?: unknown }).metadata ?? {}) as Record<string, unknown>;
  return { metadata, weightMap };
}

/** Reads one file of a model folder by relative name; resolves `undefined` when it does not exist. */
export type ReadFolderFile = (relativePath: string) => Promise<Uint8Array | undefined>;

/** Opens one .safetensors file of a model folder already parsed (e.g. tensor by tensor from disk). */
export type OpenSafetensorsFile = (relativePath: string) => Promise<SafetensorsFile | undefined>;

export interface LoadWeightsOptions extends ToTensorOptions {
  /** Label of the folder for error messages (a path or URL). */
  source?: string;
  /** Opens .safetensors files instead of `read` + `parseSafetensors` when given. */
  openSafetensors?: OpenSafetensorsFile;
}

export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';
export const SAFETENSORS_SINGLE_FILE = 'model.safetensors';

/**
 * Loads a model folder's weights through `read`: the sharded layout when `model.safetensors.index.json` exists,
 * else `model.safetensors`. Returns name -> Tensor (BF16 upcast to float32; F16 kept unless `toFloat32`).
 * Works anywhere: Node passes a file reader (see `@densessm/tensor/node`), a browser a `fetch` wrapper.
 */
export async function loadSafetensorsWeights(
  read: ReadFolderFile,
  options: LoadWeightsOptions = {},
): Promise<Map<string, Tensor>> {
  const folder = options.source ?? '<folder>';
  const join = (f: string) => (folder.endsWith('/') ? folder + f : `${folder}/${f}`);
  const open = async (name: string): Promise<SafetensorsFile | undefined> => {
    if (options.openSafetensors) return options.openSafetensors(name);
    const bytes = await read(name);
    return bytes === undefined ? undefined : parseSafetensors(bytes, { source: join(name) });
  };
  const indexBytes = await read(SAFETENSORS_INDEX_FILE);
  if (indexBytes === undefined) {
    const single = await open(SAFETENSORS_SINGLE_FILE);
    if (single === undefined) {
      throw new SafetensorsError(
        'SAFETENSORS_NOT_FOUND',
        `${folder}: no ${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE}; point the engine at a model folder holding its weights`,
        folder,
      );
    }
    const out = new Map<string, Tensor>();
    for (const [name, entry] of single.tensors) out.set(name, safetensorsEntryToTensor(entry, options));
    return out;
  }
  const indexSource = join(SAFETENSORS_INDEX_FILE);
  const index = parseSafetensorsIndex(new TextDecoder().decode(indexBytes), indexSource);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of index.weightMap) {
    const names = byShard.get(shard);
    if (names) names.push(name);
    else byShard.set(shard, [name]);
  }
  const out = new Map<string, Tensor>();
  for (const [shard, names] of byShard) {
    const shardSource = join(shard);
    const file = await open(shard);
    if (file === undefined) {
      throw new SafetensorsError(
        'SAFETENSORS_MISSING_SHARD',
        `${shardSource}: shard listed in ${SAFETENSORS_INDEX_FILE} (for ${names.length} tensors, e.g. '${names[0]}') does not exist; download every shard`,
        shardSource,
        names[0],
      );
    }
    for (const name of names) {
      const entry = file.tensors.get(name);
      if (!entry) {
        throw new SafetensorsError(
          'SAFETENSORS_MISSING_TENSOR',
          `${shardSource}: tensor '${name}' is listed in ${SAFETENSORS_INDEX_FILE} for this shard but the shard does not contain it; the index and shards do not match`,
          shardSource,
          name,
        );
      }
      out.set(name, safetensorsEntryToTensor(entry, options));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Writer

/** A tensor given in a stored dtype directly (e.g. BF16 bits for a fixture). */
export type SafetensorsInput = Tensor | SafetensorsEntry;

const DTYPE_TO_ST: Record<DType, SafetensorsDType> = {
  float32: 'F32',
  float16: 'F16',
  int32: 'I32',
  int64: 'I64',
};

function storedDtype(t: SafetensorsInput): SafetensorsDType {
  if (t.dtype in ELEMENT_SIZE) return t.dtype as SafetensorsDType;
  const st = DTYPE_TO_ST[t.dtype as DType];
  if (!st) throw new SafetensorsError('SAFETENSORS_BAD_INPUT', `cannot store dtype ${String(t.dtype)}`);
  return st;
}

/**
 * Serialises tensors to safetensors bytes (header padded to 8 bytes, data in the given order).
 * float32 -> F32, float16 -> F16, int32 -> I32, int64 -> I64; entries with F32/F16/BF16/I32/I64 dtypes are written as is.
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsInput> | Readonly<Record<string, SafetensorsInput>>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const entries: [string, SafetensorsInput][] =
    tensors instanceof Map
      ? [...tensors.entries()]
      : Object.entries(tensors as Record<string, SafetensorsInput>);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  const parts: { bytes: Uint8Array; at: number }[] = [];
  for (const [name, t] of entries) {
    if (name === '__metadata__')
      throw new SafetensorsError('SAFETENSORS_BAD_INPUT', `'__metadata__' is reserved`, undefined, name);
    const st = storedDtype(t);
    const count = elementCount(t.dims);
    if (t.data.length !== count) {
      throw new SafetensorsError(
        'SAFETENSORS_BAD_INPUT',
        `tensor '${name}': dims [${t.dims.join(', ')}] need ${count} elements, data has ${t.data.length}`,
        undefined,
        name,
      );
    }
    const d = t.data as TensorData;
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    header[name] = { dtype: st, shape: [...t.dims], data_offsets: [offset, offset + bytes.length] };
    parts.push({ bytes, at: offset });
    offset += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  const start = 8 + json.length;
  for (const p of parts) out.set(p.bytes, start + p.at);
  return out;
}
