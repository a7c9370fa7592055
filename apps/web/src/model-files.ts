/**
 * Fetches a model folder's files over HTTP with byte progress, and keeps them in the Cache API so the page
 * works offline once a model has been loaded.
 */
const CACHE_NAME = 'densessm-models-v1';

export type ProgressListener = (file: string, loadedBytes: number, totalBytes: number) => void;

async function openCache(): Promise<Cache | undefined> {
  try {
    return 'caches' in globalThis ? await caches.open(CACHE_NAME) : undefined;
  } catch {
    return undefined;
  }
}

async function readBody(response: Response, name: string, onProgress: ProgressListener): Promise<Uint8Array> {
  const total = Number(response.headers.get('Content-Length')) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(name, loaded, Math.max(total, loaded));
  }
  const out = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Reads `name` below `folderUrl`: undefined when the server says 404. */
export function httpFolder(folderUrl: string, onProgress: ProgressListener) {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  const cache = openCache();
  return async (name: string): Promise<Uint8Array | undefined> => {
    const url = new URL(name, base).href;
    let response: Response | undefined;
    try {
      response = await fetch(url);
    } catch (cause) {
      response = await (await cache)?.match(url);
      if (!response)
        throw new Error(`cannot fetch ${url} (${(cause as Error).message}) and it is not cached`);
    }
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
    const bytes = await readBody(response, name, onProgress);
    await (await cache)?.put(url, new Response(bytes.slice().buffer)).catch(() => undefined);
    return bytes;
  };
}
