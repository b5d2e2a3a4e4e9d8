import type { ChatAdapterModule } from '../../src/chat/chat-adapter.js';

/**
 * Microsoft Teams (Bot Framework activities at POST /teams/messages, answers through the Bot
 * Connector). The adapter (and jose, which checks the activities' tokens) is loaded in start().
 */
export const teams: ChatAdapterModule = {
  name: 'teams',
  // loadEnv has checked that one credential (secret, certificate, managed identity) comes with these.
  configured: (env) => Boolean(env.TEAMS_APP_ID && env.TEAMS_TENANT_ID),
  async start(deps) {
    const { env } = deps;
    const [{ startTeamsAdapter, teamsMessagesPath }, { teamsCredentialFromEnv }] = await Promise.all([import('./teams-adapter.js'), import('./credentials.js')]);
    const adapter = startTeamsAdapter({
      appId: env.TEAMS_APP_ID ?? '',
      // Secret, certificate or managed identity; a bad certificate file stops the start here.
      credential: teamsCredentialFromEnv(env),
      tenantId: env.TEAMS_TENANT_ID ?? '',
      openIdMetadataUrl: env.TEAMS_OPENID_METADATA_URL,
      authorityUrl: env.TEAMS_AUTHORITY_URL,
      http: deps.http,
      dispatcher: deps.dispatcher,
      store: deps.store,
      logger: deps.logger,
      clock: deps.clock,
      bus: deps.bus,
      actions: deps.actions,
      config: deps.config,
      publicUrl: deps.publicUrl,
      ...(deps.tuning?.outputFlushMs !== undefined ? { outputFlushMs: deps.tuning.outputFlushMs } : {}),
      ...(deps.tuning?.retryDelayMs !== undefined ? { retryDelayMs: deps.tuning.retryDelayMs } : {}),
    });
    return {
      name: 'teams',
      label: 'teams',
      chat: adapter.chat,
      describe: (address) => `Deckhand on Microsoft Teams (POST ${address}${teamsMessagesPath}).`,
      stop: () => adapter.stop(),
    };
  },
};
