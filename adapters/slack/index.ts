import type { ChatAdapterModule } from '../../src/chat/chat-adapter.js';

/**
 * Slack (Bolt): Socket Mode with SLACK_APP_TOKEN, else HTTP mode at POST /slack/events. Bolt is
 * loaded only here, when Slack is configured (on the terminal it would be a third of the start).
 */
export const slack: ChatAdapterModule = {
  name: 'slack',
  configured: (env) => Boolean(env.SLACK_BOT_TOKEN),
  async start(deps) {
    const { env } = deps;
    const { startSlackAdapter, slackEventsPath } = await import('./slack-adapter.js');
    const adapter = await startSlackAdapter({
      botToken: env.SLACK_BOT_TOKEN ?? '',
      appToken: env.SLACK_APP_TOKEN,
      signingSecret: env.SLACK_SIGNING_SECRET,
      apiUrl: env.SLACK_API_URL,
      slashCommand: env.SLACK_SLASH_COMMAND,
      http: deps.http,
      dispatcher: deps.dispatcher,
      actions: deps.actions,
      bus: deps.bus,
      store: deps.store,
      config: deps.config,
      logger: deps.logger,
      clock: deps.clock,
      publicUrl: deps.publicUrl,
      metrics: deps.metrics,
      ...(deps.tuning?.intervalMs !== undefined ? { channelIntervalMs: deps.tuning.intervalMs } : {}),
      ...(deps.tuning?.outputFlushMs !== undefined ? { outputFlushMs: deps.tuning.outputFlushMs } : {}),
      ...(deps.tuning?.retryDelayMs !== undefined ? { retryDelayMs: deps.tuning.retryDelayMs } : {}),
    });
    return {
      name: 'slack',
      label: `slack (${adapter.mode})`,
      chat: adapter.chat,
      describe: (address) => `Deckhand on Slack (${adapter.mode === 'socket' ? 'Socket Mode' : `HTTP mode, POST ${address}${slackEventsPath}`}) as <@${adapter.botUserId}>.`,
      stop: () => adapter.stop(),
    };
  },
};
