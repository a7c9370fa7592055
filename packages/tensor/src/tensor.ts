/** Element types the engine moves between JavaScript and a backend. float16 travels as raw bits in a Uint16Array. */
export type DType = 'float32' | 'float16' | 'int32' | 'int64';

export type TensorData<D extends DType = DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float16'
    ? Uint16Array
    : D extends 'int32'
      ? Int32Array
      : BigInt64Array;

/** A dense row-major tensor living in JavaScript memory. */
export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: TensorData<D>;
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function checkedTensor<D extends DType>(dtype: D, dims: readonly number[], data: TensorData<D>): Tensor<D> {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0)
      throw new RangeError(`tensor dims must be non-negative integers, got [${dims.join(', ')}]`);
  }
  const n = elementCount(dims);
  if (data.length !== n) {
    throw new RangeError(`tensor of dims [${dims.join(', ')}] needs ${n} elements, got ${data.length}`);
  }
  return { dtype, dims: [...dims], data };
}

export function float32(dims: readonly number[], data?: Float32Array | readonly number[]): Tensor<'float32'> {
  const values = data === undefined ? new Float32Array(elementCount(dims)) : Float32Array.from(data);
  return checkedTensor('float32', dims, values);
}

export function int32(dims: readonly number[], data?: Int32Array | readonly number[]): Tensor<'int32'> {
  const values = data === undefined ? new Int32Array(elementCount(dims)) : Int32Array.from(data);
  return checkedTensor('int32', dims, values);
}

export function int64(
  dims: readonly number[],
  data?: BigInt64Array | readonly (number | bigint)[],
): Tensor<'int64'> {
  const values = new BigInt64Array(elementCount(dims));
  if (data !== undefined) {
    if (data.length !== values.length) return checkedTensor('int64', dims, BigInt64Array.from(data, BigInt));
    for (let i = 0; i < values.length; i++) values[i] = BigInt(data[i]);
  }
  return checkedTensor('int64', dims, values);
}

/** Wraps existing data without copying (the caller keeps ownership semantics in mind). */
export function tensorOf<D extends DType>(dtype: D, dims: readonly number[], data: TensorData<D>): Tensor<D> {
  return checkedTensor(dtype, dims, data);
}
