import { DeckhandError, ErrorCode } from '../../src/core/errors.js';

/** What Slack answers when it refuses a token (auth.test, apps.connections.open). */
const refusedToken = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type', 'invalid_token', 'no_permission', 'missing_scope', 'team_access_not_granted']);

/**
 * A failure while connecting to Slack at start-up, as a message that names the variable to fix,
 * instead of a @slack/web-api stack. `step` says which token was being used.
 */
export function explainSlackStartError(err: unknown, step: { variable: 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN'; apiUrl: string }): DeckhandError {
  const e = err as { code?: string; data?: { error?: string; needed?: string }; original?: { message?: string; cause?: { code?: string; message?: string } }; statusCode?: number; message?: string } | null;
  const where = step.apiUrl.replace(/\/+$/, '');
  if (e?.code === 'slack_webapi_platform_error' && e.data?.error) {
    const reason = e.data.error;
    if (refusedToken.has(reason)) {
      const needed = reason === 'missing_scope' && e.data.needed ? ` (it lacks the scope ${e.data.needed}: add it under OAuth & Permissions and reinstall the app)` : '';
      const which = step.variable === 'SLACK_BOT_TOKEN' ? 'the Bot User OAuth Token (xoxb-…) from OAuth & Permissions' : 'an app-level token (xapp-…) with connections:write, from Basic Information → App-Level Tokens';
      return new DeckhandError(ErrorCode.EnvInvalid, `Slack refused ${step.variable} (${reason})${needed}. Set ${step.variable} to ${which} of the installed app.`, { variable: step.variable, reason });
    }
    return new DeckhandError(ErrorCode.Upstream, `Slack answered "${reason}" while Deckhand connected with ${step.variable}. Check the app's settings at api.slack.com/apps.`, { variable: step.variable, reason });
  }
  if (e?.code === 'slack_webapi_request_error') {
    const cause = e.original?.cause?.code ?? e.original?.cause?.message ?? e.original?.message ?? 'no answer';
    return new DeckhandError(ErrorCode.Upstream, `Could not reach the Slack API at ${where} (${cause}). Check the network or proxy, and SLACK_API_URL if you set it.`, { apiUrl: where });
  }
  if (e?.code === 'slack_webapi_http_error') {
    return new DeckhandError(ErrorCode.Upstream, `The Slack API at ${where} answered HTTP ${e.statusCode ?? '?'}. Try again in a moment; check SLACK_API_URL if you set it.`, { apiUrl: where });
  }
  return err instanceof DeckhandError ? err : new DeckhandError(ErrorCode.Upstream, `Could not connect to Slack: ${e?.message ?? String(err)}`, {}, { cause: err });
}
