import { UnavailableError } from '../errors.js';
export async function runChat(_options: unknown): Promise<void> {
  throw new UnavailableError('chat: pending');
}
