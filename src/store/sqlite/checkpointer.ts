import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints off the event loop.
 *
 * In WAL mode SQLite copies the write-ahead log back into the database file (a checkpoint) from
 * inside whichever commit pushes the log past `wal_autocheckpoint` pages (1,000 by default): that
 * commit then copies megabytes and waits for an fsync. On a webhook-heavy bot those commits are
 * the group commits of the delivery inbox, and the listener stood still while they ran (about half
 * of the store's time per stored 25 KB delivery, measured in issue 12).
 *
 * A Checkpointer runs those checkpoints on a worker thread with its own connection instead:
 * PASSIVE ones (they never wait for, or block, a writer or a reader; a busy database is simply
 * tried again on the next tick), every `intervalMs` and whenever the main connection asks. Once the
 * thread is up, the main connection's own automatic checkpoint moves out to `fallbackPages` — a
 * safety net that only a stalled thread would ever reach. Several processes on one file may each
 * run one: SQLite lets one checkpoint run at a time and the others report busy.
 */
export interface CheckpointerOptions {
  /** The database file (WAL mode already set by the main connection). */
  path: string;
  /** How often the thread checkpoints; default 250 ms. */
  intervalMs?: number;
  /** Called once the thread is ready: the main connection then raises its own threshold. */
  onOnline: () => void;
  /** A failure of the thread (it stops; the main connection's automatic checkpoints take over). */
  onError: (err: Error) => void;
}

/** The thread's code (CommonJS, evaluated: works from dist/ and from the TypeScript sources under jest alike). */
const threadSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 0');
db.pragma('wal_autocheckpoint = 0');
db.pragma('synchronous = NORMAL');
let last = null;
const checkpoint = () => {
  try {
    last = db.pragma('wal_checkpoint(PASSIVE)')[0];
  } catch (err) {
    // SQLITE_BUSY and the like: another checkpoint (another process) is under way; next tick.
    if (!/busy|locked/i.test(String(err && err.code)) && !/busy|locked/i.test(String(err && err.message))) throw err;
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'now') return checkpoint();
  if (message === 'stop') {
    clearInterval(timer);
    try { checkpoint(); } finally { db.close(); }
    parentPort.postMessage({ stopped: true, last });
    parentPort.close();
  }
});
parentPort.postMessage({ online: true });
`;

export class Checkpointer {
  private readonly worker: Worker;
  private stopped: Promise<void> | null = null;
  private failed = false;

  constructor(options: CheckpointerOptions) {
    const module = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(threadSource, { eval: true, workerData: { path: options.path, module, intervalMs: options.intervalMs ?? 250 } });
    this.worker.on('message', (message: { online?: boolean }) => {
      if (message.online) options.onOnline();
    });
    this.worker.on('error', (err) => {
      this.failed = true;
      options.onError(err);
    });
    // Never keeps the process alive by itself: close() stops it, and an exit without close() loses
    // nothing (the WAL is durable). After the listeners: adding a 'message' listener refs the port again.
    this.worker.unref();
  }

  /** Asks for a checkpoint now (does not wait for it). */
  nudge(): void {
    if (!this.failed && !this.stopped) this.worker.postMessage('now');
  }

  /** A last checkpoint, then the thread ends. */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      if (this.failed) return resolve();
      const done = () => resolve();
      this.worker.once('exit', done);
      this.worker.once('error', done);
      this.worker.postMessage('stop');
    });
    return this.stopped;
  }
}
