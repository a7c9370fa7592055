import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineLoad, FinishReason, SpeculationSummary } from './engine.js';

/**
 * Prometheus metrics. Names follow vLLM's (`vllm:` prefix included) where vLLM has the same quantity, so vLLM
 * dashboards and alerts work unchanged; quantities vLLM lacks use the `densessm:` prefix.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly labels: { model_name: string };
  private readonly promptTokens: Counter<'model_name'>;
  private readonly generationTokens: Counter<'model_name'>;
  private readonly requestSuccess: Counter<'model_name' | 'finished_reason'>;
  private readonly ttft: Histogram<'model_name'>;
  private readonly tpot: Histogram<'model_name'>;
  private readonly e2e: Histogram<'model_name'>;
  private readonly queueTime: Histogram<'model_name'>;
  private readonly numDrafts: Counter<'model_name'>;
  private readonly draftTokens: Counter<'model_name'>;
  private readonly acceptedTokens: Counter<'model_name'>;
  private readonly acceptedPerPosition: Counter<'model_name' | 'position'>;
  private readonly rejected: Counter<'model_name' | 'status'>;

  constructor(modelName: string, occupancy: () => EngineLoad) {
    this.labels = { model_name: modelName };
    const registers = [this.registry];
    const labelNames = ['model_name'] as const;
    const labels = this.labels;
    new Gauge({
      name: 'vllm:num_requests_running',
      help: 'Requests in the running batch.',
      labelNames,
      registers,
      collect() {
        this.set(labels, occupancy().running);
      },
    });
    new Gauge({
      name: 'vllm:num_requests_waiting',
      help: 'Requests waiting for a batch slot.',
      labelNames,
      registers,
      collect() {
        this.set(labels, occupancy().waiting);
      },
    });
    this.promptTokens = new Counter({
      name: 'vllm:prompt_tokens_total',
      help: 'Prefilled prompt tokens.',
      labelNames,
      registers,
    });
    this.generationTokens = new Counter({
      name: 'vllm:generation_tokens_total',
      help: 'Generated tokens.',
      labelNames,
      registers,
    });
    this.requestSuccess = new Counter({
      name: 'vllm:request_success_total',
      help: 'Finished requests by finish reason.',
      labelNames: ['model_name', 'finished_reason'],
      registers,
    });
    const latencyBuckets = [
      0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
    ];
    this.ttft = new Histogram({
      name: 'vllm:time_to_first_token_seconds',
      help: 'Time from request arrival to its first generated token.',
      labelNames,
      registers,
      buckets: latencyBuckets,
    });
    this.tpot = new Histogram({
      name: 'vllm:time_per_output_token_seconds',
      help: 'Time per output token after the first (a speculative round of k tokens counts k tokens).',
      labelNames,
      registers,
      buckets: [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5,
      ],
    });
    this.e2e = new Histogram({
      name: 'vllm:e2e_request_latency_seconds',
      help: 'Time from request arrival to its last token.',
      labelNames,
      registers,
      buckets: [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120],
    });
    this.queueTime = new Histogram({
      name: 'vllm:request_queue_time_seconds',
      help: 'Time a request waited before joining the running batch.',
      labelNames,
      registers,
      buckets: latencyBuckets,
    });
    this.numDrafts = new Counter({
      name: 'vllm:spec_decode_num_drafts_total',
      help: 'Target passes whose tree held draft tokens (one draft per sequence per round).',
      labelNames,
      registers,
    });
    this.draftTokens = new Counter({
      name: 'vllm:spec_decode_num_draft_tokens_total',
      help: 'Draft tokens proposed.',
      labelNames,
      registers,
    });
    this.acceptedTokens = new Counter({
      name: 'vllm:spec_decode_num_accepted_tokens_total',
      help: 'Draft tokens accepted by the verifier.',
      labelNames,
      registers,
    });
    this.acceptedPerPosition = new Counter({
      name: 'vllm:spec_decode_num_accepted_tokens_per_pos_total',
      help: 'Accepted draft tokens by depth in the draft (0 = first draft token).',
      labelNames: ['model_name', 'position'],
      registers,
    });
    this.rejected = new Counter({
      name: 'densessm:requests_rejected_total',
      help: 'Requests answered with an error before generation, by HTTP status.',
      labelNames: ['model_name', 'status'],
      registers,
    });
  }

  observeQueued(seconds: number, promptTokens: number): void {
    this.queueTime.observe(this.labels, seconds);
    this.promptTokens.inc(this.labels, promptTokens);
  }

  observeFirstToken(seconds: number): void {
    this.ttft.observe(this.labels, seconds);
  }

  /** `seconds` since the previous output (or the first token), for `tokens` tokens that arrived together. */
  observeTokens(tokens: number, secondsSincePrevious: number | null): void {
    if (tokens <= 0) return;
    this.generationTokens.inc(this.labels, tokens);
    if (secondsSincePrevious !== null) {
      const perToken = secondsSincePrevious / tokens;
      for (let i = 0; i < tokens; i++) this.tpot.observe(this.labels, perToken);
    }
  }

  /** Counted when a request leaves the batch (finished or cancelled). */
  observeSpeculation(summary: SpeculationSummary): void {
    this.numDrafts.inc(this.labels, summary.draftedPasses);
    this.draftTokens.inc(this.labels, summary.draftTokens);
    this.acceptedTokens.inc(this.labels, summary.acceptedTokens);
    summary.acceptedPerPosition.forEach((accepted, position) => {
      if (accepted > 0)
        this.acceptedPerPosition.inc({ ...this.labels, position: String(position) }, accepted);
    });
  }

  observeFinished(reason: FinishReason, e2eSeconds: number): void {
    this.requestSuccess.inc(
      { ...this.labels, finished_reason: reason === 'cancelled' ? 'abort' : reason },
      1,
    );
    this.e2e.observe(this.labels, e2eSeconds);
  }

  observeRejected(status: number): void {
    this.rejected.inc({ ...this.labels, status: String(status) });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
