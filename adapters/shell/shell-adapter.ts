import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { deploymentOutcome, deploymentTitle } from '../../src/chat/format.js';
import type { ChatPort } from '../../src/chat/chat-port.js';
import type { AnyEvent } from '../../src/core/events.js';
import { lockTarget } from '../../src/core/locks.js';
import { logLinkFor } from '../../src/http/deployment-log-route.js';
import type { ChatMessage, ChatReply } from '../../src/router/types.js';
import type { Deployment } from '../../src/core/model.js';
import { terminalSafe } from './terminal-safe.js';

export interface ShellAdapterOptions {
  input: Readable;
  output: Writable;
  /** The user id commands run as: shell:<name>. */
  user: string;
  botName: string;
  /** Deckhand's public base URL, for the log link of a failed deployment. */
  publicUrl?: () => string;
  /** Who may approve in an environment, for the notice. */
  approvers?: (environment: string) => readonly string[];
  /** Print every line of a running deployment's output (default true). */
  showOutput?: boolean;
}

/**
 * The terminal adapter: one command per line, replies and deployment notices on stdout.
 * Lines are handled one after another, so piped input gives a deterministic conversation.
 * Control characters in anything printed are shown as escapes (see terminal-safe.ts).
 */
export class ShellAdapter {
  readonly name = 'shell';
  private count = 0;
  /** Set while reading from a terminal, so asynchronous notices can redraw the prompt. */
  private prompt: Interface | null = null;

  constructor(private readonly options: ShellAdapterOptions) {}

  /** Reads lines until end of input; resolves once the last line has been answered. */
  async run(handle: (message: ChatMessage) => Promise<ChatReply | null>): Promise<void> {
    const interactive = Boolean((this.options.input as { isTTY?: boolean }).isTTY);
    const rl = createInterface({ input: this.options.input, ...(interactive ? { output: this.options.output, prompt: `${this.options.botName}> ` } : {}), terminal: interactive });
    if (interactive) this.prompt = rl;
    let chain = Promise.resolve();
    rl.on('line', (line) => {
      chain = chain.then(async () => {
        const text = line.trim();
        if (text === '') return;
        if (/^(exit|quit)$/i.test(text)) return void rl.close();
        const reply = await handle({ id: `shell-${++this.count}`, user: this.options.user, room: 'shell', text, isDirect: true, adapter: this.name });
        if (reply) this.print(reply.text);
      });
    });
    // In terminal mode readline turns Ctrl-C into its own event; pass it on so Deckhand stops as usual.
    rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
    if (interactive) rl.prompt();
    await new Promise<void>((resolve) => rl.once('close', resolve));
    this.prompt = null;
    await chain;
  }

  onEvent = (event: AnyEvent): void => {
    switch (event.type) {
      case 'deployment.queued': {
        const { deployment, waitingFor } = event.data;
        this.notice(deployment, `queued by ${deployment.requestedBy}${waitingFor ? `, waiting for #${waitingFor}` : ''}`);
        break;
      }
      case 'deployment.started':
        this.notice(event.data.deployment, 'started');
        break;
      case 'deployment.succeeded':
        this.notice(event.data.deployment, deploymentOutcome(event.data.deployment));
        break;
      case 'deployment.failed':
      case 'deployment.cancelled': {
        const d = event.data.deployment;
        this.notice(d, `${d.state}: ${d.reason ?? 'no reason given'}`);
        if (d.logTail) this.print(['  last output:', ...d.logTail.split('\n').map((l) => `  | ${l}`)].join('\n'));
        const link = d.startedAt ? logLinkFor(this.options.publicUrl?.(), d) : null;
        if (link) this.print(`  full log: ${link}`);
        break;
      }
      case 'approval.requested':
        this.notice(event.data.deployment, `waiting for approval by ${this.approvers(event.data.deployment.environment)} until ${event.data.approval.expiresAt.slice(11, 16)} UTC — "approve ${event.data.deployment.id}" or "deny ${event.data.deployment.id}"`);
        break;
      case 'approval.granted':
      case 'approval.denied':
        this.notice(event.data.deployment, `${event.data.approval.state} by ${event.data.approval.decidedBy}`);
        break;
      case 'approval.expired':
        this.notice(event.data.deployment, 'approval request expired');
        break;
      case 'incident.triggered':
      case 'incident.acknowledged':
      case 'incident.resolved': {
        const i = event.data.incident;
        const by = i.by && i.phase !== 'triggered' ? ` by ${i.by}` : '';
        this.print(`[incident${i.number ? ` ${i.number}` : ''}] ${i.title}: ${i.phase}${by}${i.phase === 'triggered' && i.message ? ` — ${i.message}` : ''}`);
        break;
      }
      case 'release.created':
        this.print(`[release] ${event.data.release.app} ${event.data.release.version} created by ${event.data.release.createdBy}`);
        break;
      case 'lock.acquired': {
        const { lock, previous } = event.data;
        const taken = previous && previous.holder !== lock.holder ? ` — ${previous.holder}: your lock was taken over` : '';
        this.print(`[lock] ${lockTarget(lock)} locked by ${lock.holder}${lock.reason ? ` (${lock.reason})` : ''}${taken}`);
        break;
      }
      case 'lock.released':
        this.print(`[lock] ${lockTarget(event.data.lock)} unlocked by ${event.data.releasedBy}`);
        break;
    }
  };

  /** Reactions' chat actions, printed. */
  readonly chat: ChatPort = {
    post: async (channel, text) => this.print(`[${channel}] ${text}`),
    react: async (channel, ts, emoji) => this.print(`[${channel}] :${emoji}: on ${ts}`),
  };

  onOutput = (deployment: Deployment, line: string): void => {
    if (this.options.showOutput !== false) this.print(`  #${deployment.id} | ${line}`);
  };

  private approvers(environment: string): string {
    const list = this.options.approvers?.(environment) ?? [];
    return list.length > 0 ? list.join(', ') : `someone with approve:${environment}`;
  }

  private notice(deployment: Deployment, status: string): void {
    this.print(`[deploy] ${deploymentTitle(deployment)}: ${status}`);
  }

  /** Every line goes out through here, so nothing from a payload reaches the terminal as a control sequence. */
  private print(raw: string): void {
    const output = this.options.output;
    const text = terminalSafe(raw);
    if (!this.prompt) {
      output.write(`${text}\n`);
      return;
    }
    // Write above the prompt and draw it again with whatever the user had typed.
    clearLine(output, 0);
    cursorTo(output, 0);
    output.write(`${text}\n`);
    this.prompt.prompt(true);
  }
}
