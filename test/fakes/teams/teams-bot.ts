import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../src/app.js';
import type { FakeTeams, MintOptions } from './fake-teams.js';

/**
 * For integration tests that run the real bot process against the Teams fakes: a config whose
 * deployer is a Teams user (alice) and whose production approver is another (carol), the
 * environment that points the bot at the fakes, and a signed POST of an activity.
 */
export function teamsConfigDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-teams-'));
  writeFileSync(
    path.join(dir, 'deckhand.yaml'),
    `
environments:
  staging: { aliases: [stg] }
  production: { aliases: [prod], protected: true, approvers: [teams:aad-carol] }
apps:
  hello:
    provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')}, timeout: 30s }
    environments: [staging, production]
    default: { ref: main, environment: staging }
roles:
  deployers: { members: [teams:aad-alice, teams:aad-bob, U0ALICE], may: [deploy:*, lock:*] }
`,
  );
  return dir;
}

export const teamsEnv = (teams: FakeTeams): Record<string, string> => ({
  TEAMS_APP_ID: teams.appId,
  TEAMS_APP_PASSWORD: teams.appPassword,
  TEAMS_TENANT_ID: teams.tenantId,
  TEAMS_OPENID_METADATA_URL: teams.openIdMetadataUrl,
  TEAMS_AUTHORITY_URL: teams.authorityUrl,
  LOG_LEVEL: 'warn',
});

/**
 * POSTs an activity with a freshly minted token (null: none), or `raw` as the body instead of the
 * activity's JSON; resolves the status and the parsed body (or null).
 */
export async function postActivity(url: string, teams: FakeTeams, activity: unknown, token?: MintOptions | null, raw?: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (token !== null) headers.authorization = `Bearer ${await teams.mint(token ?? {})}`;
  const response = await fetch(url, { method: 'POST', headers, body: raw ?? JSON.stringify(activity) });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: response.status, body };
}
