import { describe, expect, it } from 'vitest';
import {
  bfloat16ToFloat32Array,
  float16BitsToFloat32,
  float16ToFloat32Array,
  float32ToBfloat16Bits,
  float32ToFloat16Array,
  float32ToFloat16Bits,
} from '../src/index.js';

describe('float16', () => {
  it('encodes exact values', () => {
    expect(float32ToFloat16Bits(0)).toBe(0x0000);
    expect(float32ToFloat16Bits(-0)).toBe(0x8000);
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff); // max finite
    expect(float32ToFloat16Bits(2 ** -14)).toBe(0x0400); // min normal
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // min subnormal
    expect(float32ToFloat16Bits(1023 * 2 ** -24)).toBe(0x03ff); // max subnormal
  });

  it('handles inf, nan and overflow', () => {
    expect(float32ToFloat16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(float32ToFloat16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    const nan = float32ToFloat16Bits(Number.NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(float32ToFloat16Bits(65520)).toBe(0x7c00); // rounds up past max finite -> inf
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e10)).toBe(0x7c00);
    expect(float32ToFloat16Bits(-1e10)).toBe(0xfc00);
  });

  it('rounds to nearest, ties to even (normal and subnormal)', () => {
    const ulp = 2 ** -10;
    expect(float32ToFloat16Bits(1 + ulp / 2)).toBe(0x3c00); // tie -> even (down)
    expect(float32ToFloat16Bits(1 + ulp * 1.5)).toBe(0x3c02); // tie -> even (up)
    expect(float32ToFloat16Bits(1 + ulp * 0.51)).toBe(0x3c01);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0x0000); // half the min subnormal: tie -> 0
    expect(float32ToFloat16Bits(2 ** -25 * 1.01)).toBe(0x0001);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp tie -> even
    expect(float32ToFloat16Bits(2 ** -26)).toBe(0x0000);
    expect(float32ToFloat16Bits(-(2 ** -30))).toBe(0x8000);
    // largest subnormal + a bit more than half an ulp carries into the smallest normal
    expect(float32ToFloat16Bits(1023.6 * 2 ** -24)).toBe(0x0400);
  });

  it('decodes every bit pattern and round-trips all finite values', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
    expect(float16BitsToFloat32(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(float16BitsToFloat32(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(Number.isNaN(float16BitsToFloat32(0x7e00))).toBe(true);
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = float16ToFloat32Array(all);
    const back = float32ToFloat16Array(f);
    for (let h = 0; h < 65536; h++) {
      const nanBits = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (nanBits) expect(Number.isNaN(f[h])).toBe(true);
      else if (back[h] !== h)
        throw new Error(`0x${h.toString(16)} round-tripped to 0x${back[h].toString(16)}`);
    }
  });

  it('matches a brute-force nearest search on random values', () => {
    const decoded = float16ToFloat32Array(new Uint16Array(0x7c00).map((_, i) => i)); // all non-negative finite
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let trial = 0; trial < 2000; trial++) {
      const v = Math.fround(2 ** (rand() * 40 - 26) * (1 + rand()));
      if (v > 65504) continue;
      const h = float32ToFloat16Bits(v);
      // neighbours must not be strictly closer
      const d = Math.abs(decoded[h] - v);
      if (h > 0) expect(Math.abs(decoded[h - 1] - v)).toBeGreaterThanOrEqual(d);
      if (h < 0x7bff) expect(Math.abs(decoded[h + 1] - v)).toBeGreaterThanOrEqual(d);
    }
  });
});

describe('bfloat16', () => {
  it('decodes as the top half of a float32', () => {
    const bits = new Uint16Array([0x3f80, 0xc000, 0x0000, 0x8000, 0x7f80, 0x4049]);
    const f = bfloat16ToFloat32Array(bits);
    expect(Array.from(f.slice(0, 2))).toEqual([1, -2]);
    expect(Object.is(f[3], -0)).toBe(true);
    expect(f[4]).toBe(Number.POSITIVE_INFINITY);
    expect(f[5]).toBeCloseTo(3.140625, 6);
  });

  it('encodes with round to nearest even and keeps NaN', () => {
    expect(float32ToBfloat16Bits(1)).toBe(0x3f80);
    expect(float32ToBfloat16Bits(Math.PI)).toBe(0x4049);
    expect(float32ToBfloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie -> even
    expect(float32ToBfloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    const nan = float32ToBfloat16Bits(Number.NaN);
    expect(nan & 0x7f80).toBe(0x7f80);
    expect(nan & 0x7f).not.toBe(0);
  });
});
