import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { NewInstance } from '../core/model.js';
import { pidScope } from '../providers/script/process-identity.js';
import type { Store } from '../store/types.js';

/** How long an instance counts as alive without a heartbeat, unless DECKHAND_HEARTBEAT says otherwise. */
export const DEFAULT_HEARTBEAT_MS = 30_000;

/** This process, as the other Deckhand processes on the store see it. */
export interface LocalInstance {
  id: string;
  host: string;
  pidScope: string | null;
  pid: number;
  startedAt: string;
}

export function describeThisProcess(clock: Clock): LocalInstance {
  const host = os.hostname();
  return { id: `${host}:${process.pid}:${randomBytes(3).toString('hex')}`, host, pidScope: pidScope(), pid: process.pid, startedAt: clock.now().toISOString() };
}

export interface HeartbeatOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  instance: LocalInstance;
  /** The instance is alive this long after each heartbeat; one is sent every third of it. */
  expiryMs?: number;
}

/**
 * Keeps this process's instance row alive. Other processes take over this one's deployments and
 * jobs only once its expiry passed without a heartbeat (or it stopped), so a heartbeat is sent
 * every third of the expiry: two can be missed (a slow store, a long pause) before that happens.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> = Promise.resolve();
  readonly expiryMs: number;

  constructor(private readonly options: HeartbeatOptions) {
    this.expiryMs = options.expiryMs ?? DEFAULT_HEARTBEAT_MS;
  }

  /** How often a heartbeat is sent (and recovery looks for orphans). */
  get intervalMs(): number {
    return Math.max(100, Math.floor(this.expiryMs / 3));
  }

  /** Registers the instance and starts the heartbeats. */
  async start(): Promise<void> {
    await this.options.store.registerInstance(this.row());
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat()).catch((err) => this.options.logger.warn({ err }, 'heartbeat failed; retrying at the next one'));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the heartbeats and marks the instance stopped, handing back the jobs it still leases; resolves how many. */
  async stop(): Promise<number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    return this.options.store.stopInstance(this.options.instance.id, this.options.clock.now().toISOString());
  }

  private row(): NewInstance {
    const { instance, clock } = this.options;
    return { ...instance, expiresAt: new Date(clock.now().getTime() + this.expiryMs).toISOString() };
  }

  private async beat(): Promise<void> {
    const { store, clock, logger, instance } = this.options;
    const renewed = await store.renewInstance(instance.id, clock.now().toISOString(), this.row().expiresAt);
    if (renewed) return;
    // Deployments and jobs this process runs may have been taken over meanwhile; each one is
    // taken over atomically, so the old owner's late writes are refused, not mixed in.
    logger.warn({ instance: instance.id, expiryMs: this.expiryMs }, 'this Deckhand missed its heartbeats (paused, or cut off from the store) and counted as gone; registering again — check the deployments it was running');
    await store.registerInstance(this.row());
  }
}
