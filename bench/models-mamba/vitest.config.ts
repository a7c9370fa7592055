import { defineConfig } from 'vitest/config';

// Vitest is only the TypeScript runner here: the benchmark is one long "test" that writes JSON and asserts nothing.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['*.bench-run.ts'],
    testTimeout: 1_800_000,
    fileParallelism: false,
  },
});
