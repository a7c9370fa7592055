import { BodyTooLargeError, InvalidRequestError } from './errors.js';

/** Bytes of an oversized upload read and discarded so its client can read the 413 on a healthy connection. */
const DRAIN_FACTOR = 8;
const MIN_DRAIN_BYTES = 8 * 1024 * 1024;

/**
 * Reads a JSON request body under a byte limit, counting bytes as they arrive (Content-Length may be absent or
 * wrong), and rejects bytes that are not UTF-8 rather than letting them turn into U+FFFD inside a prompt.
 */
export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
  const drainBytes = Math.max(limitBytes * DRAIN_FACTOR, MIN_DRAIN_BYTES);
  const declared = request.headers.get('content-length');
  // An upload too large to be worth draining is refused at once (its connection is then dropped).
  if (declared !== null && Number(declared) > drainBytes) throw new BodyTooLargeError(limitBytes);
  const body = request.body;
  if (!body)
    throw new InvalidRequestError('The request has no body; send a JSON object.', null, 'missing_body');
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > drainBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limitBytes);
    }
    // Past the limit, keep reading to the end but keep nothing: the client reads its 413 and can reuse the
    // connection, rather than meeting a reset while it is still sending.
    if (size <= limitBytes) chunks.push(value);
  }
  if (size > limitBytes) throw new BodyTooLargeError(limitBytes);
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new InvalidRequestError('The request body is not valid UTF-8.', null, 'invalid_encoding');
  }
  if (text.trim().length === 0) {
    throw new InvalidRequestError('The request body is empty; send a JSON object.', null, 'missing_body');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'parse error';
    throw new InvalidRequestError(
      `The request body is not valid JSON (${detail.slice(0, 200)}).`,
      null,
      'invalid_json',
    );
  }
}
