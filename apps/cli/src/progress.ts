import cliProgress from 'cli-progress';

/** Progress of one long piece of work (eval, bench, model load). */
export interface Progress {
  update(done: number, detail?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** Unit shown after the counts, e.g. "tokens". */
  readonly unit: string;
  readonly quiet: boolean;
  readonly stream?: NodeJS.WriteStream;
}

/**
 * A redrawn bar on a TTY; otherwise (pipes, CI logs) a plain line at every 10% so logs stay readable.
 * Nothing at all with --quiet.
 */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { update() {}, stop() {} };
  if (stream.isTTY === true) return barProgress(options, stream);
  return lineProgress(options, stream);
}

function barProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${options.label} [{bar}] {percentage}% | {value}/{total} ${options.unit} | {duration_formatted} | {detail}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(options.total, 1), 0, { detail: '' });
  let stopped = false;
  return {
    update(done, detail = '') {
      if (!stopped) bar.update(Math.min(done, options.total), { detail });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

function lineProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  let nextTenth = 1;
  const total = Math.max(options.total, 1);
  const started = performance.now();
  return {
    update(done, detail = '') {
      const tenth = Math.floor((done / total) * 10);
      if (tenth < nextTenth) return;
      nextTenth = tenth + 1;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const suffix = detail ? ` ${detail}` : '';
      stream.write(
        `${options.label}: ${tenth * 10}% (${done}/${options.total} ${options.unit}, ${seconds} s)${suffix}\n`,
      );
    },
    stop() {},
  };
}
