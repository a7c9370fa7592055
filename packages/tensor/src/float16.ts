/**
 * IEEE 754 half precision (float16) and bfloat16 conversions. Both travel as raw bits in a Uint16Array.
 * float32 -> float16 rounds to nearest, ties to even, produces subnormals, overflows to infinity and keeps NaN a NaN.
 */

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The float16 bit pattern nearest to `value` (round to nearest, ties to even). */
export function float32ToFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    // Infinity stays infinity; every NaN stays a (quiet) NaN, keeping the top payload bits.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Result is subnormal (or zero): value = m * 2^-24 with m = (1.mant) >> (14 - e).
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r; // r == 0x400 is exactly the smallest normal, which is the right encoding
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++; // a carry into the exponent is correct, up to infinity
  return sign | r;
}

let float16Table: Float32Array | undefined;

function table(): Float32Array {
  if (float16Table) return float16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) t[h] = sign * m * 2 ** -24;
    else if (e === 31) t[h] = m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else t[h] = sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  float16Table = t;
  return t;
}

/** The float32 value of a float16 bit pattern (exact: every float16 is a float32). */
export function float16BitsToFloat32(bits: number): number {
  return table()[bits & 0xffff];
}

/** Converts a whole array of float32 values to float16 bits. */
export function float32ToFloat16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

/** Converts float16 bits to float32 (exact). */
export function float16ToFloat32Array(bits: Uint16Array): Float32Array {
  const t = table();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < out.length; i++) out[i] = t[bits[i]];
  return out;
}

/** Converts bfloat16 bits to float32 (exact: bfloat16 is the top half of a float32). */
export function bfloat16ToFloat32Array(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) u[i] = bits[i] << 16;
  return out;
}

/** The bfloat16 bit pattern nearest to `value` (round to nearest, ties to even; NaN stays NaN). */
export function float32ToBfloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Converts float32 values to bfloat16 bits. */
export function float32ToBfloat16Array(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = float32ToBfloat16Bits(values[i]);
  return out;
}
