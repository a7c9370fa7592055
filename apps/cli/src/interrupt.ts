/**
 * Ctrl-C handling for long work. The first SIGINT (or SIGTERM) aborts the signal handed to the library, so
 * generation stops at the next step boundary and what was produced so far is still printed; the command then
 * exits with 130. A second Ctrl-C exits at once.
 */
export interface InterruptScope {
  readonly signal: AbortSignal;
  readonly interrupted: boolean;
  /** Removes the handlers (call when the long work is over). */
  release(): void;
}

export function onInterrupt(onFirst?: () => void): InterruptScope {
  const controller = new AbortController();
  let count = 0;
  const handler = () => {
    count++;
    if (count === 1) {
      onFirst?.();
      controller.abort(new Error('interrupted'));
    } else {
      process.stderr.write('\n');
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    get interrupted() {
      return count > 0;
    },
    release() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
