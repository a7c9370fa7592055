import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createNodeBackend } from '@densessm/backend-node';
import { describe, expect, it } from 'vitest';
import { folderReader, loadModel, readCheckpoint, referenceFromCheckpoint } from '../src/index.js';
import { chainTree, maxAbsDiff } from './helpers/conformance.js';

/** Golden logits exported by training/ from PyTorch (rounded to 5 decimals), one row per position. */
interface Golden {
  sequences: { name: string; ids: number[]; logits: number[][] }[];
}

const FIXTURES = fileURLToPath(new URL('../../../training/fixtures/', import.meta.url));
// 5-decimal rounding of the golden values plus fp32 differences between PyTorch and our graphs.
const GOLDEN_TOLERANCE = 1e-4;

describe.each(['dense_retnet_m0', 'dense_retnet_m2'])('PyTorch golden logits: %s', (fixture) => {
  it('the reference and the verify graph (chain from an empty state) match every position', async () => {
    const dir = FIXTURES + fixture;
    const golden: Golden = JSON.parse(await readFile(`${dir}/golden.json`, 'utf8'));
    const reference = referenceFromCheckpoint(await readCheckpoint(folderReader(dir), dir));
    const model = await loadModel(dir, { backend: createNodeBackend({ threads: 1 }) });
    expect(golden.sequences.length).toBeGreaterThan(0);
    for (const { name, ids, logits } of golden.sequences) {
      const state = reference.newState();
      const [verified] = await model.verify([
        { state: model.newState(), tree: chainTree(Int32Array.from(ids)) },
      ]);
      ids.forEach((token, i) => {
        const expected = Float32Array.from(logits[i]);
        expect(
          maxAbsDiff(reference.feed(state, token).logits, expected),
          `${name} ref @${i}`,
        ).toBeLessThanOrEqual(GOLDEN_TOLERANCE);
        const row = verified.logits.subarray(i * model.vocabSize, (i + 1) * model.vocabSize);
        expect(maxAbsDiff(row, expected), `${name} graph @${i}`).toBeLessThanOrEqual(GOLDEN_TOLERANCE);
      });
    }
    await model.dispose();
  });
});
