import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Actions } from '../actions/index.js';
import type { ChatPlatform, ChatPort } from '../chat/chat-port.js';
import { teamsConversationId } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { AnyEvent } from '../core/events.js';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { mintApiToken } from '../http/api-tokens.js';
import { runScript } from '../providers/script/run-script.js';
import type { Store } from '../store/types.js';
import type { ApiTokenRun, Job, NewJob } from '../core/model.js';
import { deliveryContext, eventContext } from './context.js';
import { compileFilter } from './filter.js';
import { httpFailure, sendHttpRequest } from './http-request.js';
import type { Reaction } from './load-reactions.js';
import { renderHttp } from './preview.js';
import type { ReactionAction } from './schema.js';
import { createTemplateEngine } from './template.js';

export interface ReactionEngineOptions {
  reactions: readonly Reaction[];
  store: Store;
  clock: Clock;
  logger: Logger;
  actions: Actions;
  /** The running chat adapter's port, if any. */
  chat: () => ChatPort | null;
  /** Folder scripts are resolved against (the one holding reactions/). */
  baseDir: string;
  /**
   * Enqueues a reaction run and lets the workers know (the app passes JobWorker.enqueue: run at once
   * by this process when it has room, without a claim).
   */
  enqueue: (job: NewJob) => Promise<Job | null>;
  /** Extra values to redact (config secrets). */
  secrets?: readonly string[];
  /** Base URL scripts use to reach the REST API (DECKHAND_API_URL); null when the server is not listening. */
  apiUrl?: () => string | null;
  /** Injected for tests (undici dispatcher, sleep). */
  http?: Parameters<typeof sendHttpRequest>[1];
  /** Told of every action run: its kind (http, chat, deploy, create_release, script) and whether it succeeded. For metrics. */
  onActionRun?: (kind: string, ok: boolean) => void;
  /**
   * Told of every step that runs again after it had started in an earlier attempt of its job and
   * did not finish: `previous` is 'failed' when that attempt recorded a failure of the step, and
   * 'interrupted' when it did not (the process was killed, lost its lease, or was shut down). For metrics.
   */
  onStepRerun?: (kind: string, previous: 'failed' | 'interrupted') => void;
}

export interface ReactionJobPayload {
  reaction: string;
  context: Record<string, unknown>;
  /**
   * Random, written with the job when it is enqueued: what makes its steps' run ids (Idempotency-Key,
   * DECKHAND_RUN_ID) unique across installations. Jobs enqueued before it existed, and schedule
   * ticks, have none (see stepRunId).
   */
  nonce?: string;
}

/** What a step runs as: its stable id (Idempotency-Key, DECKHAND_RUN_ID) and the job attempt (DECKHAND_RUN_ATTEMPT). */
interface StepIdentity {
  runId: string;
  attempt: number;
}

const actionKinds = ['http', 'chat', 'deploy', 'create_release', 'script'] as const;
const actionKind = (action: ReactionAction): string => actionKinds.find((k) => k in action) ?? 'other';

/**
 * The run id of step `index` of a job: `deckhand-` and 32 hex digits, the same on every attempt of
 * the job (retries, a take-over after a kill -9), different for every other step and job. A hash,
 * so it shows nothing of what it is made of. Made from the job's random nonce when it has one
 * (unique across installations sharing a receiver); otherwise from what the store keeps of the job
 * (type, id, key, creation time to the millisecond), which another installation repeats only if it
 * created a job with the same id and key in the same millisecond.
 */
export function stepRunId(job: Pick<Job, 'id' | 'type' | 'key' | 'createdAt' | 'payload'>, index: number): string {
  const nonce = (job.payload as { nonce?: unknown } | null | undefined)?.nonce;
  const basis = typeof nonce === 'string' && nonce !== '' ? `nonce\0${nonce}` : `job\0${job.type}\0${job.id}\0${job.key ?? ''}\0${job.createdAt}`;
  return `deckhand-${createHash('sha256').update(`deckhand-reaction-step\0${basis}\0${index}`).digest('hex').slice(0, 32)}`;
}

/**
 * The identity a reaction's own deploy / create_release actions act as: Deckhand itself, named
 * after the reaction. Their app and environment are written in the config by the operator, which
 * is the authorisation. Its scripts' API tokens act as the same id but never as system: what a
 * script does at run time goes through the roles of reaction:<name>.
 */
const actorFor = (reaction: Reaction) => ({ id: `reaction:${reaction.name}`, system: true as const });

/**
 * Reactions: trigger ▸ filter ▸ actions. Matching happens when an event or delivery arrives; the
 * run itself is a durable job, so it survives a restart, is retried per policy, and an action that
 * already succeeded is not repeated on a retry.
 */
export class ReactionEngine {
  private readonly templates = createTemplateEngine();
  private readonly byName = new Map<string, Reaction>();
  private readonly filters = new Map<string, (data: Record<string, unknown>) => boolean>();
  /** Per reaction: runs in progress in this process, and the runs waiting for a slot. */
  private readonly slots = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(private readonly options: ReactionEngineOptions) {
    for (const r of options.reactions) {
      this.byName.set(r.name, r);
      const on = r.on as { where?: unknown; unless?: unknown };
      const where = on.where ? compileFilter(on.where as never) : () => true;
      const unless = on.unless ? compileFilter(on.unless as never) : () => false;
      this.filters.set(r.name, (data) => where(data) && !unless(data));
    }
  }

  webhook(name: string): Reaction | undefined {
    return this.options.reactions.find((r) => 'webhook' in r.on && r.on.webhook === name);
  }

  /** Bus subscriber: internal events to reaction jobs. */
  onEvent = async (event: AnyEvent): Promise<void> => {
    const context = eventContext(event);
    for (const r of this.options.reactions) {
      if (!('event' in r.on) || ![r.on.event].flat().includes(event.type)) continue;
      // A reaction never reacts to a deployment it started itself: no loops.
      if ((context.deployment as { requestedBy?: string } | undefined)?.requestedBy === actorFor(r).id) continue;
      await this.match(r, context, `event:${event.id}`);
    }
  };

  /** Job handler for an accepted webhook delivery. */
  handleDelivery = async (job: Job): Promise<void> => {
    const { deliveryId, replay } = job.payload as { deliveryId: number; replay?: boolean };
    const delivery = await this.options.store.getDelivery(deliveryId);
    // Deliveries are stored with their job in one transaction: a missing one will not turn up later.
    if (!delivery) throw new DeckhandError(ErrorCode.NotFound, `delivery ${deliveryId} is missing`);
    const trigger = delivery.source.replace(/^trigger:/, '');
    const reaction = this.webhook(trigger);
    if (!reaction) {
      this.options.logger.warn({ trigger, deliveryId }, 'no reaction serves this trigger any more; delivery kept, not processed');
      return;
    }
    // An operator's replay (src/operators/) runs the reaction again: its own occurrence, keyed by its job.
    await this.match(reaction, deliveryContext(delivery, trigger), replay ? `delivery:${delivery.id}:replay:${job.id}` : `delivery:${delivery.id}`);
  };

  /** Job handler for a schedule tick (enqueued by the scheduler). */
  handleTick = async (job: Job, signal?: AbortSignal): Promise<void> => {
    const { reaction: name, tick } = job.payload as { reaction: string; tick: string };
    const reaction = this.byName.get(name);
    if (!reaction) return;
    // Schedules often summarise: the last 24 hours of deployments come with the tick.
    const since = new Date(new Date(tick).getTime() - 86_400_000).toISOString();
    const recent = (await this.options.store.listDeployments({ limit: 100 })).filter((d) => d.createdAt >= since && d.createdAt <= tick);
    const count = (state: string) => recent.filter((d) => d.state === state).length;
    await this.runNow(
      reaction,
      {
        event: { id: tick, type: 'schedule', at: tick, source: `schedule:${name}` },
        schedule: { name, tick },
        last24h: { deployments: recent.reverse(), total: recent.length, succeeded: count('succeeded'), failed: count('failed'), cancelled: count('cancelled') },
      },
      job,
      signal,
    );
  };

  /** Job handler: run a matched reaction's actions in order. */
  handleRun = async (job: Job, signal?: AbortSignal): Promise<void> => {
    const { reaction: name, context } = job.payload as ReactionJobPayload;
    const reaction = this.byName.get(name);
    if (!reaction) throw new Error(`reaction "${name}" is not loaded any more`);
    await this.runNow(reaction, context, job, signal);
  };

  private async match(reaction: Reaction, context: Record<string, unknown>, occurrence: string): Promise<void> {
    if (!this.filters.get(reaction.name)?.(context)) return;
    const once = reaction.once_per ? this.templates.render(reaction.once_per, context) : null;
    const window = reaction.once_per_window ? `:${Math.floor(this.options.clock.now().getTime() / reaction.once_per_window)}` : '';
    const key = once ? `reaction:${reaction.name}:once:${once}${window}` : `reaction:${reaction.name}:${occurrence}`;
    const run: NewJob = { type: 'reaction', key, payload: { reaction: reaction.name, context, nonce: randomUUID() } satisfies ReactionJobPayload, runAt: this.options.clock.now().toISOString(), maxAttempts: 5 };
    await this.options.enqueue(run);
  }

  /** `signal`: a shutdown stops the run (its script is stopped; the job is handed back). */
  private async runNow(reaction: Reaction, context: Record<string, unknown>, job: Job, signal?: AbortSignal): Promise<void> {
    const release = await this.acquire(reaction);
    try {
      const { store, clock } = this.options;
      for (const [index, action] of reaction.do.entries()) {
        // A retry skips what already succeeded, so a marker is never sent twice.
        const step = `${job.id}:${index}`;
        if (await store.isSeen('reaction-step', step)) continue;
        const identity: StepIdentity = { runId: stepRunId(job, index), attempt: job.attempts };
        // Started marks are per attempt (each claim counts one), so a later attempt can tell the step
        // ran before without finishing, and whether that run failed or was cut short (kill -9, lost lease).
        await store.markSeen('reaction-step-started', `${step}@${job.attempts}`, clock.now().toISOString());
        await this.noteRerun(reaction, action, job, index, identity);
        try {
          await this.runAction(reaction, action, context, { jobId: job.id, attempt: job.attempts }, identity, signal);
        } catch (err) {
          // A shutdown that stopped the step is an interruption, not a failure of the step.
          if (!signal?.aborted) await store.markSeen('reaction-step-failed', `${step}@${job.attempts}`, clock.now().toISOString()).catch(() => false);
          throw err;
        }
        await store.markSeen('reaction-step', step, clock.now().toISOString());
      }
    } finally {
      release();
    }
  }

  /** Logs (and counts) a step that started in an earlier attempt of its job and did not finish: its effect may have happened already. */
  private async noteRerun(reaction: Reaction, action: ReactionAction, job: Job, index: number, identity: StepIdentity): Promise<void> {
    const step = `${job.id}:${index}`;
    // The latest earlier attempt that started the step (attempts of a job are numbered 1, 2, ...).
    for (let earlier = job.attempts - 1; earlier >= 1; earlier--) {
      if (!(await this.options.store.isSeen('reaction-step-started', `${step}@${earlier}`))) continue;
      const previous = (await this.options.store.isSeen('reaction-step-failed', `${step}@${earlier}`)) ? 'failed' : 'interrupted';
      const kind = actionKind(action);
      this.options.logger.warn(
        { reaction: reaction.name, jobId: job.id, step: index, kind, attempt: job.attempts, previousAttempt: earlier, previous, runId: identity.runId },
        previous === 'failed'
          ? 'reaction step re-run: it failed in an earlier attempt of its job'
          : 'reaction step re-run: an earlier attempt of its job started it and was cut short (killed, lease lost or shut down); its effect may have happened already',
      );
      this.options.onStepRerun?.(kind, previous);
      return;
    }
  }

  /** Waits for one of the reaction's `concurrency` slots (in this process); resolves with its release. */
  private async acquire(reaction: Reaction): Promise<() => void> {
    let slot = this.slots.get(reaction.name);
    if (!slot) this.slots.set(reaction.name, (slot = { running: 0, waiting: [] }));
    const s = slot;
    if (s.running >= reaction.concurrency) await new Promise<void>((resolve) => s.waiting.push(resolve));
    else s.running += 1;
    // A waiter inherits the slot of the run that releases it, so `running` stays put.
    return () => {
      const next = s.waiting.shift();
      if (next) next();
      else s.running -= 1;
    };
  }

  /** Runs a reaction now, outside the queue (deckhand trigger). */
  async runManually(reaction: Reaction, context: Record<string, unknown>): Promise<void> {
    // Not retried as a job: each action gets a run id of its own (still the same on its HTTP retries).
    for (const action of reaction.do) await this.runAction(reaction, action, context, null, { runId: `deckhand-${randomUUID().replaceAll('-', '')}`, attempt: 1 });
  }

  /** `run`: the job attempt this is part of (null when run manually); a script's API token lives and dies with it. */
  private async runAction(reaction: Reaction, action: ReactionAction, context: Record<string, unknown>, run: ApiTokenRun | null, identity: StepIdentity, signal?: AbortSignal): Promise<void> {
    const kind = actionKind(action);
    try {
      await this.runOneAction(reaction, action, context, run, identity, signal);
    } catch (err) {
      this.options.onActionRun?.(kind, false);
      throw err;
    }
    this.options.onActionRun?.(kind, true);
  }

  private async runOneAction(reaction: Reaction, action: ReactionAction, context: Record<string, unknown>, run: ApiTokenRun | null, identity: StepIdentity, signal?: AbortSignal): Promise<void> {
    const render = (text: string) => this.templates.render(text, context);
    const secrets = [...reaction.secrets, ...(this.options.secrets ?? [])];
    if ('http' in action) {
      const spec = action.http;
      const result = await sendHttpRequest({ ...renderHttp(spec, context), timeoutMs: spec.timeout, idempotencyKey: identity.runId }, { ...this.options.http, retry: { attempts: spec.attempts }, secrets });
      // Carries the last status: a 4xx is not retried by the job worker, a 5xx or no answer is.
      if (!result.ok) throw httpFailure(spec.method, result);
      return;
    }
    if ('chat' in action) {
      const port = this.options.chat();
      // The adapter is set before the worker starts: without one now, there will not be one.
      if (!port) throw new DeckhandError(ErrorCode.Conflict, 'no chat adapter is running');
      const chat = action.chat;
      // `slack:` / `teams:` name a platform; `channel:` is the running adapter's (Slack when both run).
      const teams = 'teams' in chat ? chat.teams : undefined;
      const platform: ChatPlatform | null = teams !== undefined ? 'teams' : chat.slack !== undefined ? 'slack' : null;
      const target = render((teams ?? chat.slack ?? chat.channel) as string);
      const to = platform ? (port.on ? port.on(platform) : port) : port;
      if (!to) throw new DeckhandError(ErrorCode.Conflict, `this chat step posts to ${platform === 'teams' ? 'Microsoft Teams' : 'Slack'}, which is not running here`);
      if (platform === 'teams' && !teamsConversationId.safeParse(target).success) {
        throw new DeckhandError(ErrorCode.Template, `"${target}" is not a Teams conversation id (write e.g. 19:…@thread.tacv2)`);
      }
      // Keyed by the step's run id: a re-run after a kill -9 does not post the message again (on Slack).
      if ('text' in chat) await to.post(target, render(chat.text), chat.thread ? render(chat.thread) : undefined, { runId: identity.runId });
      else await to.react(target, render(chat.ts), chat.react);
      return;
    }
    // Keyed by the step's run id (the same on every re-run of the step): a re-run after a kill -9
    // gets the deployment or release the first run made instead of making a second one.
    const requestKey = `reaction-step:${identity.runId}`;
    if ('deploy' in action) {
      const d = action.deploy;
      await this.options.actions.deploy(
        actorFor(reaction),
        {
          app: render(d.app),
          ...(d.ref ? { ref: render(d.ref) } : {}),
          ...(d.environment ? { environment: render(d.environment) } : {}),
          source: 'reaction',
        },
        { requestKey },
      );
      return;
    }
    if ('create_release' in action) {
      const r = action.create_release;
      await this.options.actions.createRelease(actorFor(reaction), { app: render(r.app), version: render(r.version), ...(r.notes ? { notes: render(r.notes) } : {}) }, { requestKey });
      return;
    }
    const script = typeof action.script === 'string' ? { path: action.script, timeout: 300_000, args: [] as string[], env: {}, api: [] } : action.script;
    const query = (context.query ?? {}) as Record<string, string>;
    const payloadJson = JSON.stringify(context.payload ?? context);
    // A ready API client, for scripts that declare what they use (api:): a token with just those
    // scopes, acting as reaction:<name> with its roles, for this run only (revoked when it ends,
    // dead anyway once the run's job is no longer running this attempt).
    const apiUrl = script.api.length > 0 ? (this.options.apiUrl?.() ?? null) : null;
    const grant = apiUrl
      ? await mintApiToken(this.options.store, this.options.clock, { actor: actorFor(reaction).id, scopes: script.api, ttlMs: script.timeout + 60_000, run })
      : null;
    const result = await runScript({
      script: path.resolve(this.options.baseDir, script.path),
      args: script.args.map(render),
      cwd: this.options.baseDir,
      env: {
        ...script.env,
        DECKHAND_REACTION: reaction.name,
        // The same on every run of this step (retries, a take-over after a kill -9): a script makes itself idempotent with it.
        DECKHAND_RUN_ID: identity.runId,
        // The job attempt (1 first): above 1, an earlier attempt may have run this step already.
        DECKHAND_RUN_ATTEMPT: String(identity.attempt),
        ...(grant && apiUrl ? { DECKHAND_API_URL: `${apiUrl}/api/v1`, DECKHAND_API_TOKEN: grant.token } : {}),
        DECKHAND_EVENT_TYPE: String((context.event as { type?: string } | undefined)?.type ?? ''),
        // The payload as JSON in the environment too, when it is small (the file always has it).
        ...(payloadJson.length <= 32_768 ? { DECKHAND_PAYLOAD: payloadJson } : {}),
        // Query parameters as DECKHAND_QUERY_<NAME>; the whole payload is in the JSON file.
        ...Object.fromEntries(Object.entries(query).map(([k, v]) => [`DECKHAND_QUERY_${k.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, String(v)])),
      },
      payload: context,
      payloadEnvVar: 'DECKHAND_PAYLOAD_FILE',
      timeoutMs: script.timeout,
      secrets: grant ? [...secrets, grant.token] : secrets,
      ...(signal ? { signal } : {}),
    }).finally(() => grant?.revoke());
    if (result.exitCode !== 0) {
      const message = `script ${script.path} ${result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`}: ${result.output.split('\n').slice(-5).join(' | ')}`;
      // Both are retried: a script's failure says nothing about whether the next run fails too.
      throw new DeckhandError(result.timedOut ? ErrorCode.ScriptTimeout : ErrorCode.ScriptFailed, message, { exitCode: result.exitCode, signal: result.signal });
    }
  }
}
