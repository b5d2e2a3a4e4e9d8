import type { Counter as CounterType } from 'prom-client';
import type { AnyEvent } from '../core/events.js';
import type { JobTypeStats } from '../store/types.js';
import { boundedToken } from './labels.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from './prom-parts.js';

/**
 * Deckhand's Prometheus metrics, one registry per Deckhand instance (never prom-client's global
 * default registry: tests run several instances in one process, and two registries never share a
 * counter). Every label takes its values from a bounded set: names written in the config (apps,
 * environments), in the code (job types, action kinds, API methods, route templates) or a status
 * code. Never a delivery id, a ref, a user or a raw URL: anything else becomes "other".
 */
export class DeckhandMetrics {
  readonly registry = new Registry();

  /** Webhook and trigger deliveries, as their route answered them. */
  readonly deliveries = new Counter({
    name: 'deckhand_webhook_deliveries_total',
    help: 'Webhook and trigger deliveries by source and outcome (accepted, duplicate, refused, failed); reason says why one was refused.',
    labelNames: ['source', 'outcome', 'reason'] as const,
    registers: [this.registry],
  });
  readonly jobsRetried = new Counter({
    name: 'deckhand_jobs_retried_total',
    help: 'Job attempts that failed and were scheduled again, by job type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly jobsDead = new Counter({
    name: 'deckhand_jobs_dead_total',
    help: 'Jobs that became dead letters in this process, by job type and reason (permanent: an error that would fail again; exhausted: out of attempts).',
    labelNames: ['type', 'reason'] as const,
    registers: [this.registry],
  });
  readonly actionRuns = new Counter({
    name: 'deckhand_reaction_actions_total',
    help: 'Reaction actions run, by kind (http, chat, deploy, create_release, script) and outcome (succeeded, failed).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly stepReruns = new Counter({
    name: 'deckhand_reaction_step_reruns_total',
    help: 'Reaction steps run again after an earlier attempt of the same step failed or was interrupted (a kill, a lost lease, a shutdown), by kind.',
    labelNames: ['kind', 'previous'] as const,
    registers: [this.registry],
  });
  readonly deployments = new Counter({
    name: 'deckhand_deployments_total',
    help: 'Deployments that reached a final state in this process, by app, environment and state (succeeded, failed, cancelled).',
    labelNames: ['app', 'environment', 'state'] as const,
    registers: [this.registry],
  });
  readonly deploymentDuration = new Histogram({
    name: 'deckhand_deployment_duration_seconds',
    help: 'From start to final state, for deployments that started, by app, environment and state.',
    labelNames: ['app', 'environment', 'state'] as const,
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'deckhand_api_requests_total',
    help: 'Requests Deckhand made to Slack, GitHub and Octopus, by service, method (API method or route template) and HTTP status (0: no answer).',
    labelNames: ['service', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'deckhand_http_request_duration_seconds',
    help: 'Requests to Deckhand\'s HTTP server, by method, route template ("unmatched" for unknown paths) and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'deckhand_job_queue_depth',
    help: 'Jobs waiting (pending, due now or later) and running, by type; read from the store at each scrape (all processes sharing it).',
    labelNames: ['type', 'state'] as const,
    registers: [this.registry],
    // Read when Prometheus scrapes, so they hold for every process sharing the store.
    collect: () => this.collectJobStats(),
  });
  readonly queueOldestAge = new Gauge({
    name: 'deckhand_job_queue_oldest_age_seconds',
    help: 'How long the oldest due pending job has waited, by type (0 when none is due); read from the store at each scrape.',
    labelNames: ['type'] as const,
    registers: [this.registry],
    collect: () => this.collectJobStats(),
  });
  readonly storeScrapeErrors = new Counter({
    name: 'deckhand_metrics_store_errors_total',
    help: 'Scrapes whose job queue figures could not be read from the store (the gauges then keep their last values).',
    registers: [this.registry],
  });

  private readonly apps: ReadonlySet<string>;
  private readonly environments: ReadonlySet<string>;
  private readonly jobTypes: ReadonlySet<string>;
  private readonly now: () => Date;
  private collecting: Promise<void> | null = null;
  /** prom-client's process metrics start with the first scrape: an instance nobody scrapes (tests start many) sets up no observers. */
  private processMetrics: boolean;
  private jobStats: ((now: string) => Promise<JobTypeStats[]>) | null = null;

  constructor(options: { apps: readonly string[]; environments: readonly string[]; jobTypes?: readonly string[]; now?: () => Date; processMetrics?: boolean }) {
    this.apps = new Set(options.apps);
    this.environments = new Set(options.environments);
    this.jobTypes = new Set(options.jobTypes ?? []);
    this.now = options.now ?? (() => new Date());
    this.processMetrics = options.processMetrics !== false;
  }

  /** Both queue gauges collect from one read of the store per scrape (prom-client collects metrics concurrently). */
  private collectJobStats(): Promise<void> {
    this.collecting ??= this.readJobStats().finally(() => (this.collecting = null));
    return this.collecting;
  }

  private async readJobStats(): Promise<void> {
    if (!this.jobStats) return;
    const at = this.now();
    let stats: JobTypeStats[];
    try {
      stats = await this.jobStats(at.toISOString());
    } catch {
      this.storeScrapeErrors.inc();
      return;
    }
    const depth = new Map<string, { pending: number; running: number; age: number }>();
    for (const type of this.jobTypes) depth.set(type, { pending: 0, running: 0, age: 0 });
    for (const s of stats) {
      const type = this.jobType(s.type);
      const entry = depth.get(type) ?? { pending: 0, running: 0, age: 0 };
      entry.pending += s.pending;
      entry.running += s.running;
      if (s.oldestDueAt) entry.age = Math.max(entry.age, (at.getTime() - new Date(s.oldestDueAt).getTime()) / 1000);
      depth.set(type, entry);
    }
    this.queueDepth.reset();
    this.queueOldestAge.reset();
    for (const [type, entry] of depth) {
      this.queueDepth.set({ type, state: 'pending' }, entry.pending);
      this.queueDepth.set({ type, state: 'running' }, entry.running);
      this.queueOldestAge.set({ type }, entry.age);
    }
  }

  /** Where the queue gauges come from (the store's jobStats). */
  watchJobs(jobStats: (now: string) => Promise<JobTypeStats[]>): void {
    this.jobStats = jobStats;
  }

  /** The text exposition (Prometheus 0.0.4 format). */
  async text(): Promise<{ contentType: string; body: string }> {
    if (this.processMetrics) {
      collectDefaultMetrics()({ register: this.registry });
      // prom-client counts CPU from the moment its collector is made (here, the first scrape), so
      // that scrape would say ~0. Prometheus reads process_cpu_* as time since the process started:
      // give the counters what the process used before.
      const used = process.cpuUsage();
      const cpu = (name: string, micros: number) => (this.registry.getSingleMetric(name) as CounterType | undefined)?.inc(micros / 1e6);
      cpu('process_cpu_user_seconds_total', used.user);
      cpu('process_cpu_system_seconds_total', used.system);
      cpu('process_cpu_seconds_total', used.user + used.system);
      this.processMetrics = false;
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  jobType(type: string): string {
    return this.jobTypes.size === 0 || this.jobTypes.has(type) ? boundedToken(type) : 'other';
  }

  /** Bus subscriber: final deployment states, with the duration of those that started. */
  onEvent = (event: AnyEvent): void => {
    if (event.type !== 'deployment.succeeded' && event.type !== 'deployment.failed' && event.type !== 'deployment.cancelled') return;
    const d = event.data.deployment;
    const labels = {
      app: this.apps.has(d.app) ? d.app : 'other',
      environment: this.environments.has(d.environment) ? d.environment : 'other',
      state: event.type.slice('deployment.'.length),
    };
    this.deployments.inc(labels);
    if (d.startedAt) {
      const end = d.finishedAt ? new Date(d.finishedAt).getTime() : new Date(event.at).getTime();
      const seconds = (end - new Date(d.startedAt).getTime()) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) this.deploymentDuration.observe(labels, seconds);
    }
  };

  /** For the job worker: a failed attempt that will be retried, or a dead letter. */
  onJobFailed = (type: string, outcome: 'retry' | 'dead', permanent: boolean): void => {
    if (outcome === 'retry') this.jobsRetried.inc({ type: this.jobType(type) });
    else this.jobsDead.inc({ type: this.jobType(type), reason: permanent ? 'permanent' : 'exhausted' });
  };

  /** For the reaction engine: one action ran. */
  onActionRun = (kind: string, ok: boolean): void => {
    this.actionRuns.inc({ kind: actionKinds.has(kind) ? kind : 'other', outcome: ok ? 'succeeded' : 'failed' });
  };

  /** For the reaction engine: a step runs again; `previous` says how its earlier attempt ended. */
  onStepRerun = (kind: string, previous: 'failed' | 'interrupted'): void => {
    this.stepReruns.inc({ kind: actionKinds.has(kind) ? kind : 'other', previous });
  };

  /** For API clients: one HTTP request to another service; `method` must already be bounded (a method name or a route template). */
  onApiRequest = (service: 'slack' | 'github' | 'octopus', method: string, status: number): void => {
    this.apiRequests.inc({ service, method, status: Number.isInteger(status) && status >= 100 && status < 600 ? String(status) : '0' });
  };
}

const actionKinds = new Set(['http', 'chat', 'deploy', 'create_release', 'script']);
