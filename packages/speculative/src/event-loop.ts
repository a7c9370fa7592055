/**
 * Resolves on a later turn of the event loop (a macrotask), so timers, Worker messages and I/O callbacks run
 * between generation rounds even when every model call resolves through microtasks alone, as onnxruntime-web's
 * wasm backend does inside a Web Worker: without it a page's Stop message would only arrive after the whole
 * generation. setImmediate where it exists (Node); otherwise a MessageChannel message, since browsers clamp
 * setTimeout(0) to at least 4 ms.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(undefined);
  });
}
