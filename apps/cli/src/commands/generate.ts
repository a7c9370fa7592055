import { UnavailableError } from '../errors.js';
export async function runGenerate(_words: string[], _options: unknown): Promise<void> {
  throw new UnavailableError('generate: pending');
}
