/**
 * Shared helpers for the model benchmarks (not tests): robust timing, token-tree shapes, result files.
 * Used by bench/models/*.bench-run.ts and bench/models-mamba.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import type { TokenTree } from '../../packages/models/src/index.js';

export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return Number(sorted[Math.floor(sorted.length / 2)].toFixed(3));
}

/** Marks the timed region of a case (cases that take it); cases without the parameter are timed whole. */
export type Timer = <T>(region: () => Promise<T>) => Promise<T>;

/** Median wall-clock ms and CPU ms (user + system, all threads of this process) per case. */
export interface Timings {
  readonly wall: Record<string, number>;
  readonly cpu: Record<string, number>;
}

/**
 * Times every case once per round, round after round (after one warm-up round that builds the sessions), so
 * that load from other processes on the machine hits all cases alike and their ratios stay meaningful. CPU time
 * is recorded too: with one intra-op thread it is the work itself, unaffected by waiting for a core.
 */
export async function roundRobin(
  cases: Record<string, (time: Timer) => Promise<void>>,
  rounds: number,
): Promise<Timings> {
  const wall: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let round = 0; round <= rounds; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const record = (ms: number, cpuMs: number) => {
        if (round > 0) {
          wall[name].push(ms);
          cpu[name].push(cpuMs);
        }
      };
      const time: Timer = async (region) => {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const result = await region();
        const c = process.cpuUsage(c0);
        record(performance.now() - t0, (c.user + c.system) / 1000);
        return result;
      };
      // A case declaring the `time` parameter times its own region; others are timed whole.
      await (run.length > 0 ? run(time) : time(() => run(time)));
    }
  }
  const medians = (xs: Record<string, number[]>) =>
    Object.fromEntries(Object.entries(xs).map(([k, v]) => [k, median(v)]));
  return { wall: medians(wall), cpu: medians(cpu) };
}

export function randomTokens(n: number, vocab: number, rand: () => number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rand() * vocab));
}

/** Tree shapes drafters produce, each of n nodes: binary (depth ~log2 n), 4 parallel chains, one chain. */
export const TREE_SHAPES: Readonly<Record<string, (n: number) => Int32Array>> = {
  tree: (n) => Int32Array.from({ length: n }, (_, i) => (i === 0 ? -1 : (i - 1) >> 1)),
  beam4: (n) => Int32Array.from({ length: n }, (_, i) => (i < 4 ? -1 : i - 4)),
  chain: (n) => Int32Array.from({ length: n }, (_, i) => i - 1),
};

export function treeOf(shape: string, n: number, vocab: number, rand: () => number): TokenTree {
  return { tokens: randomTokens(n, vocab, rand), parents: TREE_SHAPES[shape](n) };
}

/** Writes `bench/results/<name>-<tag>.json` with the machine's description around `body`. */
export function writeResult(name: string, tag: string, body: Record<string, unknown>): string {
  const out = {
    benchmark: name,
    cpu: cpus()[0]?.model,
    cores: availableParallelism(),
    node: process.version,
    date: new Date().toISOString(),
    ...body,
  };
  const dir = join(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${tag}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  return file;
}
