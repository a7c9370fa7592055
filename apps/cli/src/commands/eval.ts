import { UnavailableError } from '../errors.js';
export async function runEval(_file: string, _options: unknown): Promise<void> {
  throw new UnavailableError('eval: pending');
}
