/** How reactions (and later webhooks) talk to chat without knowing the platform. */
export interface ChatPort {
  /**
   * `once.runId`: the message is one step of a durable run (a reaction step's run id), and a re-run
   * of that step — a retry, a take-over after a kill -9 — must not post it a second time. Adapters
   * that can look for what they posted (Slack) make it exactly once; the others post again.
   */
  post(channel: string, text: string, thread?: string, once?: { runId: string }): Promise<void>;
  react(channel: string, ts: string, emoji: string): Promise<void>;
  /**
   * The port of one platform by name (a reaction's `chat: { teams: … }`), when the process runs
   * several; null when that one is not running. Without it, the port is the only platform.
   */
  on?(platform: ChatPlatform): ChatPort | null;
}

export type ChatPlatform = 'slack' | 'teams';
