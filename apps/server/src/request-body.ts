import { BodyTooLargeError, InvalidRequestError } from './errors.js';

/**
 * Reads a JSON request body under a byte limit: refuses early on a declared Content-Length above it, counts bytes
 * as they arrive otherwise (chunked uploads), and rejects bytes that are not UTF-8 rather than letting them turn
 * into U+FFFD silently inside a prompt.
 */
export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limitBytes) throw new BodyTooLargeError(limitBytes);
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
    if (size > limitBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(limitBytes);
    }
    chunks.push(value);
  }
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
