/**
 * In-memory model of the Slack workspace state the fake server mutates:
 * messages (with threads, reactions, edit history), ephemeral messages,
 * channels and users. Tests read it to assert on what the bot "posted".
 */

export interface Reaction {
  name: string;
  /** Users who added this reaction, in order. Slack reports `count` = users.length. */
  users: string[];
  count: number;
}

export interface MessageEdit {
  /** Text and blocks as they were *before* this edit. */
  text: string | undefined;
  blocks: unknown[] | undefined;
  at: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  /** Set on thread replies (the parent's ts). Parents don't carry it until they get a reply. */
  thread_ts?: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
  attachments: unknown[] | undefined;
  /** Author: a user id (human or bot user). Bot posts also carry `bot_id`. */
  user: string;
  bot_id?: string;
  reactions: Reaction[];
  /** Thread replies in order (only on top-level messages). */
  replies: StoredMessage[];
  /** Previous versions, oldest first; one entry per chat.update. */
  edits: MessageEdit[];
  /** Every field the poster sent (decoded), for assertions on unusual arguments. */
  raw: Record<string, unknown>;
  /** Message metadata sent with chat.postMessage (`{ event_type, event_payload }`). */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text: string | undefined;
  blocks: unknown[] | undefined;
}

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  isIm: boolean;
  /** When false the bot gets `not_in_channel` on chat.postMessage until it calls conversations.join. */
  isMember: boolean;
  user?: string;
}

export interface FakeUser {
  id: string;
  name: string;
  real_name: string;
  display_name: string;
  tz: string;
  is_bot: boolean;
}

export class MessageStore {
  /** The last ts handed out, in microseconds since the epoch. */
  private lastMicros = 0;
  private readonly byChannel = new Map<string, StoredMessage[]>();
  private readonly ephemerals: EphemeralMessage[] = [];
  private readonly channels = new Map<string, FakeChannel>();
  private readonly users = new Map<string, FakeUser>();

  /**
   * Slack ts values are "<unix seconds>.<6 digits>" strings, unique per channel, and — as on Slack —
   * the time the message was posted (so conversations.history's `oldest` / `latest` mean what they
   * say). Strictly increasing here, unique across channels too; they sort as strings and numbers alike.
   */
  nextTs(): string {
    this.lastMicros = Math.max(this.lastMicros + 1, Date.now() * 1000);
    return `${Math.floor(this.lastMicros / 1_000_000)}.${String(this.lastMicros % 1_000_000).padStart(6, '0')}`;
  }

  topLevel(channel: string): StoredMessage[] {
    return this.byChannel.get(channel) ?? [];
  }

  /** Every message in every channel, thread replies too. */
  all(): StoredMessage[] {
    return [...this.byChannel.values()].flatMap((list) => list.flatMap((m) => [m, ...m.replies]));
  }

  /** Finds a message by ts, whether top-level or a thread reply. */
  find(channel: string, ts: string): StoredMessage | undefined {
    for (const message of this.topLevel(channel)) {
      if (message.ts === ts) return message;
      const reply = message.replies.find((r) => r.ts === ts);
      if (reply) return reply;
    }
    return undefined;
  }

  add(message: StoredMessage): StoredMessage {
    if (message.thread_ts !== undefined) {
      const parent = this.find(message.channel, message.thread_ts);
      if (parent) {
        // A parent becomes a thread root: Slack then reports thread_ts === ts on it.
        parent.thread_ts = parent.ts;
        parent.replies.push(message);
        return message;
      }
    }
    const list = this.byChannel.get(message.channel) ?? [];
    list.push(message);
    this.byChannel.set(message.channel, list);
    return message;
  }

  remove(channel: string, ts: string): boolean {
    const list = this.topLevel(channel);
    const index = list.findIndex((m) => m.ts === ts);
    if (index >= 0) {
      list.splice(index, 1);
      return true;
    }
    for (const parent of list) {
      const replyIndex = parent.replies.findIndex((r) => r.ts === ts);
      if (replyIndex >= 0) {
        parent.replies.splice(replyIndex, 1);
        return true;
      }
    }
    return false;
  }

  addEphemeral(message: EphemeralMessage): void {
    this.ephemerals.push(message);
  }

  ephemeralsIn(channel: string): EphemeralMessage[] {
    return this.ephemerals.filter((m) => m.channel === channel);
  }

  setChannel(channel: FakeChannel): void {
    this.channels.set(channel.id, channel);
  }

  /**
   * Channels the test never registered still "exist" (so tests can post to any C... id),
   * with a made-up name and the bot as a member.
   */
  channel(id: string): FakeChannel {
    const known = this.channels.get(id);
    if (known) return known;
    const synthesized: FakeChannel = {
      id,
      name: `channel-${id.toLowerCase()}`,
      isPrivate: id.startsWith('G'),
      isIm: id.startsWith('D'),
      isMember: true,
    };
    this.channels.set(id, synthesized);
    return synthesized;
  }

  channelByName(name: string): FakeChannel | undefined {
    return [...this.channels.values()].find((c) => c.name === name);
  }

  setUser(user: FakeUser): void {
    this.users.set(user.id, user);
  }

  /** Unregistered U.../W... ids get a plausible synthesized profile; anything else is unknown. */
  user(id: string): FakeUser | undefined {
    const known = this.users.get(id);
    if (known) return known;
    if (!/^[UW][A-Z0-9]+$/.test(id)) return undefined;
    const lower = id.toLowerCase();
    return { id, name: `user-${lower}`, real_name: `User ${id}`, display_name: lower, tz: 'UTC', is_bot: false };
  }
}
