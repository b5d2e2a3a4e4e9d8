import type { WebClient } from '@slack/web-api';
import type { Logger } from '../../src/core/logger.js';
import type { MessageRef } from '../../src/core/model.js';
import type { Store } from '../../src/store/types.js';

/** The metadata event type every exactly-once message carries; its payload names the run (`run_id`). */
export const stepEventType = 'deckhand_step';

/** message_refs kind of a reaction step's message, keyed by the step's run id. */
const refKind = 'reaction-step';

/**
 * How long before the recorded intent the search starts: the intent is written before the message
 * is sent, so only a difference between this host's clock and Slack's can put the message earlier.
 */
const clockMarginMs = 120_000;

/** A search reads at most this many pages (200 messages each) newer than the intent, then gives up and posts. */
const maxPages = 50;

/** A conversation id Slack's history methods take (not a #name, not a user id). */
const conversationId = /^[CGD][A-Z0-9]{2,}$/;

/** Lookup failures that mean "this bot cannot look here", not "try again". */
const cannotLook = new Set(['missing_scope', 'not_in_channel', 'channel_not_found', 'thread_not_found', 'not_allowed_token_type', 'method_not_supported_for_channel_type']);

export interface PostOnceOptions {
  /** A client that never retries by itself: a retried chat.postMessage whose first try got through would post twice. */
  client: WebClient;
  store: Store;
  logger: Logger;
  /** Wall-clock milliseconds (compared with Slack's ts); default Date.now. */
  now?: () => number;
}

export interface OncePost {
  channel: string;
  text: string;
  thread?: string | undefined;
  runId: string;
}

/**
 * Exactly-once chat messages for reaction steps (docs/decisions/019-exactly-once-chat-messages.md):
 *
 *  1. The intent is recorded first: a message reference keyed by the step's run id, with no ts yet.
 *  2. The message is posted with metadata `{ event_type: 'deckhand_step', event_payload: { run_id } }`.
 *  3. Its ts is recorded.
 *
 * A re-run of the step (a retry of the op, or of the job after a kill -9) that finds a ts recorded
 * posts nothing; one that finds only the intent looks for the message in the channel first —
 * conversations.history (conversations.replies in a thread) from a little before the intent,
 * newest first, with metadata — and records what it finds instead of posting. When the bot may not
 * read the channel (no channels:history / groups:history scope, not a member, a #name or a user
 * instead of a channel id), it posts again: at least once, logged once per reason.
 *
 * `prepare` runs before the message is queued; `send` is the queued op (paced, retried on 429).
 */
export function postOnce(options: PostOnceOptions) {
  const { client, store, logger } = options;
  const now = options.now ?? Date.now;
  const warned = new Set<string>();

  const warnOnce = (reason: string, fields: Record<string, unknown>, message: string) => {
    if (warned.has(reason)) return;
    warned.add(reason);
    logger.warn({ reason, ...fields }, message);
  };

  const remember = (post: OncePost, channel: string, ts: string, at: string) =>
    store.rememberMessage({ kind: refKind, key: post.runId, adapter: 'slack', channel, ts, updatedAt: at } satisfies MessageRef);

  /**
   * Looks for the message of `post.runId` newer than `sinceMs`. The found message's ts; null when
   * it is not there; 'unknown' when this bot cannot look (then the caller posts: at least once).
   * Throws what should be tried again (a rate limit, Slack or the network away).
   */
  async function find(post: OncePost, sinceMs: number): Promise<string | null | 'unknown'> {
    if (!conversationId.test(post.channel)) {
      warnOnce('channel-name', { channel: post.channel }, 'a reaction posts to a #name or a user, not a channel id: a re-run after a kill -9 cannot look for its message and may post it twice (use the channel id for exactly-once)');
      return 'unknown';
    }
    const oldest = ((sinceMs - clockMarginMs) / 1000).toFixed(6);
    let cursor: string | undefined;
    for (let page = 1; page <= maxPages; page++) {
      let answer: { messages?: Array<{ ts?: string; metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }>; has_more?: boolean; response_metadata?: { next_cursor?: string } };
      try {
        const args = { channel: post.channel, oldest, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) };
        answer = post.thread ? await client.conversations.replies({ ...args, ts: post.thread }) : await client.conversations.history(args);
      } catch (err) {
        const code = (err as { data?: { error?: string } }).data?.error;
        if (code !== undefined && cannotLook.has(code)) {
          warnOnce(
            code,
            { channel: post.channel, error: code },
            code === 'missing_scope'
              ? 'the Slack app may not read channel history (add the channels:history and groups:history scopes): a re-run after a kill -9 cannot look for its message and may post it twice'
              : `cannot look for a re-run step's message in this conversation (${code}); posting it again`,
          );
          return 'unknown';
        }
        throw err;
      }
      const found = answer.messages?.find((m) => m.metadata?.event_type === stepEventType && m.metadata.event_payload?.run_id === post.runId);
      if (found?.ts) return found.ts;
      cursor = answer.response_metadata?.next_cursor || undefined;
      if (!answer.has_more || !cursor) return null;
    }
    logger.warn({ channel: post.channel, runId: post.runId, pages: maxPages }, 'stopped looking for a re-run step\'s message (too many messages since); posting it again');
    return 'unknown';
  }

  return {
    /**
     * Before queueing: what the store knows of the step's message. 'posted' when its ts is recorded
     * (nothing to do); otherwise when the intent was recorded (now, or by an earlier run), and
     * whether it was there before this run (then the message may already be in the channel).
     */
    async prepare(post: OncePost): Promise<'posted' | { intentMs: number; earlier: boolean }> {
      const ref = await store.findMessage(refKind, post.runId, 'slack');
      if (ref && ref.ts !== '') return 'posted';
      if (ref) return { intentMs: Date.parse(ref.updatedAt), earlier: true };
      const intentMs = now();
      await remember(post, post.channel, '', new Date(intentMs).toISOString());
      return { intentMs, earlier: false };
    },

    /**
     * The queued op. `state.mayExist` starts true when an earlier run recorded the intent, and becomes
     * true once this run has sent the message (a retry of the op after a dropped answer must look too).
     */
    async send(post: OncePost, state: { intentMs: number; mayExist: boolean }): Promise<void> {
      if (state.mayExist) {
        const found = await find(post, state.intentMs);
        if (typeof found === 'string' && found !== 'unknown') {
          await remember(post, post.channel, found, new Date(now()).toISOString());
          logger.warn({ channel: post.channel, ts: found, runId: post.runId }, 'the message of a re-run reaction step is already in the channel; not posted again');
          return;
        }
      }
      state.mayExist = true;
      const answer = await client.chat.postMessage({
        channel: post.channel,
        text: post.text,
        ...(post.thread ? { thread_ts: post.thread } : {}),
        metadata: { event_type: stepEventType, event_payload: { run_id: post.runId } },
      });
      await remember(post, String(answer.channel ?? post.channel), String(answer.ts ?? ''), new Date(now()).toISOString());
    },
  };
}
