// Renders a speculative bench result (bench/results/speculative-*.json; the newest by default) as the
// Markdown table of bench/speculative/README.md:  node bench/speculative/table.mjs [result.json]
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const results = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');
const file =
  process.argv[2] ??
  join(
    results,
    readdirSync(results)
      .filter((f) => f.startsWith('speculative-') && f.endsWith('.json'))
      .sort()
      .at(-1),
  );
const report = JSON.parse(readFileSync(file, 'utf8'));
const lines = [
  `${report.date} · ${report.modelType} ${JSON.stringify(report.model)} · ${report.threads} threads · ${report.maxTokens} tokens · median of ${report.runs} runs`,
  '',
  '| prompt set | drafter | batch | tokens/s | speed-up | mean accepted length | acceptance by depth (1..4) | ms / target pass | same as plain |',
  '|---|---|---:|---:|---:|---:|---|---:|:-:|',
];
for (const r of report.rows) {
  const depth = r.acceptanceByDepth
    .slice(0, 4)
    .map((a) => a.toFixed(2))
    .join(' ');
  lines.push(
    `| ${r.promptSet} | ${r.drafter} | ${r.batchSize} | ${r.tokensPerSecond.toFixed(1)} | ${r.speedup.toFixed(2)}x | ${r.meanAcceptedLength.toFixed(2)} | ${depth} | ${r.msPerTargetPass.toFixed(1)} | ${r.identicalToPlain ? 'yes' : 'NO'} |`,
  );
}
console.log(lines.join('\n'));
