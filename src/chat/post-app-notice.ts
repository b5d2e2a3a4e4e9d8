import type { AppConfig } from '../config/types.js';
import type { ChatPlatform, ChatPort } from './chat-port.js';

export interface NoticeFailure {
  platform: ChatPlatform;
  channel: string;
  error: unknown;
}

/**
 * Posts a notice (a refused or auto-created GitHub deployment) to an app's notify room on each
 * platform it names — `notify: "#x"` / `notify: { slack: "#x", teams: "19:…" }` — each through
 * that platform's own port (`chat.on('slack')`, `chat.on('teams')`); a platform that does not run
 * in this process is skipped. A port without `on` (the terminal's, a test's) is the only platform
 * there is, and gets the Slack room as before. Every target is tried; the failures are returned.
 */
export async function postAppNotice(chat: ChatPort, app: Pick<AppConfig, 'notify' | 'notifyTeams'>, text: string): Promise<NoticeFailure[]> {
  const targets: Array<{ platform: ChatPlatform; channel: string; port: ChatPort | null }> = [];
  if (app.notify) targets.push({ platform: 'slack', channel: app.notify, port: chat.on ? chat.on('slack') : chat });
  if (app.notifyTeams && chat.on) targets.push({ platform: 'teams', channel: app.notifyTeams, port: chat.on('teams') });
  const failures: NoticeFailure[] = [];
  await Promise.all(
    targets.map(async ({ platform, channel, port }) => {
      if (!port) return;
      try {
        await port.post(channel, text);
      } catch (error) {
        failures.push({ platform, channel, error });
      }
    }),
  );
  return failures;
}
