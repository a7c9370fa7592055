import { UnavailableError } from '../errors.js';
export async function runBench(_options: unknown): Promise<void> {
  throw new UnavailableError('bench: pending');
}
