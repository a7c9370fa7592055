import { Command, CommanderError, Option } from 'commander';
import { runBench } from './commands/bench.js';
import { runChat } from './commands/chat.js';
import { runEval } from './commands/eval.js';
import { runGenerate } from './commands/generate.js';
import { runInspect } from './commands/inspect.js';
import { runModels } from './commands/models.js';
import { ExitCode } from './errors.js';
import {
  addDraftOption,
  addModelOptions,
  addOutputOptions,
  addSamplingOptions,
  DRAFTER_NAMES,
  integerList,
  positiveInteger,
} from './options.js';
import { painter } from './terminal.js';
import { CLI_VERSION } from './version.js';

/** Adds the examples to a command's --help and binds its action (which throws; cli.ts reports). */
function finish(
  command: Command,
  exampleLines: readonly string[],
  action: Parameters<Command['action']>[0],
): void {
  command.addHelpText('after', examples(exampleLines)).action(action);
}

function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    internal error (a bug; rerun with DENSESSM_DEBUG=1 for the stack trace)
  2    bad command line (unknown option or drafter, value out of range, no prompt)
  3    model folder missing, not a model folder, or invalid
  4    input file missing, unreadable or empty
  5    something the command needs is not available (drafter assets, a package not built)
  130  interrupted (Ctrl-C); output produced before it was printed

Environment:
  DENSESSM_MODEL   default model folder (instead of the shipped one in models/)
  DENSESSM_DEBUG   set to 1 to print stack traces of internal errors
  NO_COLOR         disable colours (they are only used on a terminal anyway)
`;

/** The `densessm` command tree. Actions throw; `cli.ts` turns errors into one line and an exit code. */
export function buildProgram(): Command {
  const paint = painter(process.stderr);
  const program = new Command('densessm')
    .description(
      'Run dense state-space language models (DenseRetNet, DenseMamba, RetNet, Mamba) on onnxruntime, made faster by lossless speculative decoding.',
    )
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // Commander's own errors (unknown option, bad value) become our one-line format.
      outputError: (message, write) => {
        const text = message.trim().replace(/^error:\s*/i, '');
        write(`${paint('red', 'densessm: error:')} ${text}\n`);
      },
    })
    .addHelpText(
      'after',
      examples([
        'densessm generate "The history of the"',
        'echo "Once upon a time" | densessm generate --draft lookup --max-tokens 64',
        'densessm chat',
        'densessm bench --json',
        'densessm eval notes.txt',
        'densessm inspect',
        'densessm models',
      ]) + EXIT_CODES_HELP,
    );

  const generate = program
    .command('generate')
    .alias('gen')
    .summary('complete a prompt, streaming the text')
    .description(
      'Complete a prompt with the model, streaming text to stdout. The prompt comes from the arguments, --file,\n' +
        'or stdin. A final line on stderr gives tokens/s, time to first token, mean accepted length and the drafter.',
    )
    .argument('[prompt...]', 'prompt text (default: --file, else stdin)')
    .option('-f, --file <path>', 'read the prompt from a file');
  addModelOptions(generate);
  addDraftOption(generate);
  addSamplingOptions(generate);
  addOutputOptions(generate, 'print one JSON object {text, tokens, stats, ...} instead of streaming');
  finish(
    generate,
    [
      'densessm generate "The meaning of life is"',
      'densessm generate --draft none -n 64 "Plain decoding, for comparison:"',
      'densessm generate --temperature 0.8 --top-p 0.95 --seed 7 "Once upon a time"',
      'cat prompt.txt | densessm generate --json > out.json',
      'densessm generate --model ./my-model --draft ./my-model/draft --stop "\\n\\n" "Q: why? A:"',
    ],
    runGenerate,
  );

  const chat = program
    .command('chat')
    .summary('talk with the model (multi-turn, chat template)')
    .description(
      "Interactive chat using the model's chat template. Each line you type is a user turn; the reply streams.\n" +
        'Commands: /reset starts over, /exit (or Ctrl-D) quits. Piped stdin is read as one user turn per line.',
    )
    .option('-s, --system <text>', 'system message for the conversation');
  addModelOptions(chat);
  addDraftOption(chat);
  addSamplingOptions(chat, 256);
  addOutputOptions(chat, 'print one JSON object per turn (JSON Lines) instead of streaming');
  finish(
    chat,
    [
      'densessm chat',
      'densessm chat --system "Answer in one sentence." --draft lookup',
      "printf 'Hi!\\nTell me more.\\n' | densessm chat --json",
    ],
    runChat,
  );

  const bench = program
    .command('bench')
    .summary('compare plain decoding with each drafter')
    .description(
      'Measure plain greedy decoding against each drafter on the prompt sets in bench/prompts/, at several batch\n' +
        'sizes (a run feeds every prompt of a set, batch by batch, with a fresh drafter), median of --repeats runs\n' +
        'after a warm-up, in one process.\n' +
        'Prints a table and writes JSON under bench/results/.',
    )
    .option(
      '--drafters <list>',
      `comma-separated drafters to compare with plain decoding (${DRAFTER_NAMES.filter((d) => d !== 'none').join(',')},<folder>)`,
      'all',
    )
    .option('-b, --batch-sizes <list>', 'comma-separated batch sizes', integerList, [1])
    .option(
      '-p, --prompts <set>',
      'prompt set: a name in bench/prompts/ or a .jsonl/.txt file (default: every set)',
    )
    .option('-r, --repeats <n>', 'runs per configuration (the median is reported)', positiveInteger, 3)
    .option(
      '-o, --out <file>',
      'where to write the JSON results (default: bench/results/<model>-<time>.json)',
    );
  addModelOptions(bench);
  bench
    .addOption(
      new Option('-n, --max-tokens <n>', 'tokens to generate per sequence')
        .argParser(positiveInteger)
        .default(64),
    )
    .addOption(
      new Option('--max-draft-nodes <n>', 'draft tree budget per sequence per round').argParser(
        positiveInteger,
      ),
    );
  addOutputOptions(bench, 'print the results as JSON on stdout (the file is written too)');
  bench
    .option('--markdown', 'print the table as Markdown')
    .option(
      '--readme [file]',
      'also put the table into bench/README.md (or this file), between generated markers',
    );
  finish(
    bench,
    [
      'densessm bench',
      'densessm bench --drafters lookup,recycling --batch-sizes 1,4 --repeats 5',
      'densessm bench --prompts code --max-tokens 128 --json > result.json',
    ],
    runBench,
  );

  const evaluate = program
    .command('eval')
    .summary('perplexity of the model on a text file')
    .description(
      'Perplexity of the model on a UTF-8 text file. The text is scored in windows of --window tokens that\n' +
        'start --stride tokens apart; each window starts from a fresh state and only its last --stride tokens\n' +
        '(all of them in the first window) are scored, so every token is scored once with the same context length.',
    )
    .argument('<file>', 'text file to score')
    .option('-w, --window <n>', 'tokens of context per window', positiveInteger, 512)
    .option('--stride <n>', 'tokens between window starts (default: window / 2)', positiveInteger)
    .option('--limit <n>', 'score at most the first n tokens', positiveInteger);
  addModelOptions(evaluate);
  addOutputOptions(evaluate, 'print {perplexity, nll, tokens, ...} as JSON');
  finish(
    evaluate,
    ['densessm eval corpus.txt', 'densessm eval corpus.txt --window 1024 --stride 256 --json'],
    runEval,
  );

  const inspect = program
    .command('inspect')
    .summary('config, parameters, bytes per dtype, state size')
    .description(
      'Show what a model folder holds: its config, parameter count, bytes per dtype, state size per sequence\n' +
        '(fixed, whatever the context length), tokenizer and drafter assets.',
    )
    .argument('[model]', 'model folder (default: --model, $DENSESSM_MODEL, else the shipped target)');
  addModelOptions(inspect).option('--json', 'print the report as JSON');
  finish(inspect, ['densessm inspect', 'densessm inspect ./models/x/draft --json'], runInspect);

  const models = program
    .command('models')
    .summary('list the models that ship with densessm')
    .description('List the model folders under models/ (the default first) with their drafter assets.')
    .option('--json', 'print the list as JSON');
  finish(models, ['densessm models', 'densessm models --json'], runModels);

  return program;
}

/** Exit code for an error commander raised (help and version are successes). */
export function commanderExitCode(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
  if (error.code === 'commander.help') return ExitCode.usage;
  return ExitCode.usage;
}
export { CommanderError };
