import type { Server } from 'node:http';

/**
 * How busy the HTTP listener is: the requests it is in the middle of (from the raw server's
 * `request` event to the response's `close`, so routes that answer on the raw response — Slack's —
 * count too). The job worker asks `quiet()` before it claims: webhooks are answered first, and
 * their jobs run in the gaps (see JobWorker's `yieldTo`).
 */
export class ListenerPressure {
  private inflight = 0;
  private waiters: Array<() => void> = [];

  constructor(server: Pick<Server, 'on'>) {
    server.on('request', (_req, res) => {
      this.inflight++;
      res.once('close', () => {
        this.inflight--;
        if (this.inflight === 0 && this.waiters.length > 0) {
          const waiting = this.waiters;
          this.waiters = [];
          waiting.forEach((resolve) => resolve());
        }
      });
    });
  }

  /** Requests under way now. */
  get busy(): number {
    return this.inflight;
  }

  /**
   * Resolves at once when no request is under way; otherwise when the last one is answered, or
   * after `maxWaitMs` at the latest — so under a flood of webhooks the jobs still run, in turns.
   * Null when there is nothing to wait for (no promise, no timer: the usual case).
   */
  quiet(maxWaitMs: number): Promise<void> | null {
    if (this.inflight === 0) return null;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, maxWaitMs);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }
}
