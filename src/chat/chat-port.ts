/** How reactions (and later webhooks) talk to chat without knowing the platform. */
export interface ChatPort {
  post(channel: string, text: string, thread?: string): Promise<void>;
  react(channel: string, ts: string, emoji: string): Promise<void>;
}
