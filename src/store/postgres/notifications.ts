import pg from 'pg';
import { jobsChannel } from './jobs.js';

const firstRetryMs = 250;
const maxRetryMs = 10_000;

/**
 * Wake-ups across processes: one dedicated connection LISTENs on the jobs channel and calls every
 * listener on each notification. It is its own client, not a pooled one: LISTEN belongs to a
 * session, and the pool hands sessions out to anyone.
 *
 * When the connection drops (database restart, network), it reconnects with backoff. Whatever was
 * announced meanwhile is lost, so the listeners are also called after every (re)connect: "look
 * now" makes up for it. Notifications are only a hint; a worker still polls.
 */
export class JobNotifications {
  private readonly listeners = new Set<() => void>();
  private client: pg.Client | null = null;
  private retry: NodeJS.Timeout | null = null;
  private retryMs = firstRetryMs;
  private connecting = false;
  private closed = false;

  constructor(private readonly config: pg.ClientConfig) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.client === null && this.retry === null && !this.connecting) void this.connect();
    return () => void this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private wake(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.connecting = true;
    const client = new pg.Client(this.config);
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = null;
      void client.end().catch(() => {});
      this.reconnectLater();
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', () => this.wake());
    try {
      await client.connect();
      await client.query(`LISTEN ${jobsChannel}`);
    } catch {
      this.connecting = false;
      drop();
      return;
    }
    this.connecting = false;
    if (this.closed || dropped) {
      if (!dropped) await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryMs = firstRetryMs;
    this.wake();
  }

  private reconnectLater(): void {
    if (this.closed || this.retry !== null) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, this.retryMs);
    this.retry.unref();
    this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
  }
}
