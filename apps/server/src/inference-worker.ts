/**
 * Entry of the inference thread. It builds the core named by `workerData`, runs the batch scheduler, and talks
 * to the HTTP thread only through the messages of `worker-protocol.ts`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CoreSpec } from './core.js';
import { createCore } from './core-factory.js';
import { BatchScheduler } from './scheduler.js';
import type { ToMainMessage, ToWorkerMessage } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('inference-worker must run as a worker thread');
const { spec, maxBatch } = workerData as { spec: CoreSpec; maxBatch: number };

function send(message: ToMainMessage): void {
  port!.postMessage(message);
}

try {
  const core = await createCore(spec);
  const scheduler = new BatchScheduler(core, { maxBatch }, (id, event) => send({ type: 'event', id, event }));
  port.on('message', (message: ToWorkerMessage) => {
    switch (message.type) {
      case 'submit':
        scheduler.submit(message.request);
        break;
      case 'cancel':
        scheduler.cancel(message.id);
        break;
      case 'close':
        void scheduler
          .close()
          .then(() => core.dispose())
          .finally(() => {
            send({ type: 'closed' });
            port.close();
          });
        break;
    }
  });
  send({ type: 'ready', info: core.info });
} catch (error) {
  send({ type: 'load-failed', message: error instanceof Error ? error.message : String(error) });
  port.close();
}
