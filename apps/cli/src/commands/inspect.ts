import { UnavailableError } from '../errors.js';
export async function runInspect(_folder: string | undefined, _options: unknown): Promise<void> {
  throw new UnavailableError('inspect: pending');
}
