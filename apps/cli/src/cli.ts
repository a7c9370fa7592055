import { describeError, ExitCode } from './errors.js';
import { buildProgram, CommanderError, commanderExitCode } from './program.js';
import { painter } from './terminal.js';

/**
 * Entry point of the bundled `densessm` binary. Every failure ends here: user errors print one line
 * (`densessm: error: ...`) and exit with the documented code; only internal errors under DENSESSM_DEBUG=1 show a
 * stack trace.
 */
async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExitCode(error);
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  const described = describeError(error);
  const paint = painter(process.stderr);
  // A half-written streamed line would glue the message onto the text; start a fresh line on a terminal.
  const lead = process.stdout.isTTY ? '\n' : '';
  if (described.code === 'INTERRUPTED') {
    process.stderr.write(`${lead}${paint('yellow', `densessm: ${described.message}`)}\n`);
    return described.exitCode;
  }
  process.stderr.write(`${lead}${paint('red', 'densessm: error:')} ${described.message}\n`);
  if (!described.expected) {
    if (process.env.DENSESSM_DEBUG === '1' && error instanceof Error && error.stack) {
      process.stderr.write(`${error.stack}\n`);
    } else {
      process.stderr.write(
        paint('dim', '(an internal error; rerun with DENSESSM_DEBUG=1 to see where it happened)\n'),
      );
    }
  }
  return described.exitCode;
}

// stdout closed early (e.g. `densessm generate ... | head -1`) is not an error worth a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(ExitCode.ok);
});

// Exit explicitly: a native session or a stdin listener left open must not keep a finished command alive.
// (stdout and stderr writes to pipes, files and terminals are synchronous on Linux and macOS, so nothing is lost.)
main(process.argv).then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(reportError(error)),
);
