import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/app.js';

/** A config whose people are Slack user ids and whose notices go to #deploys (C0DEPLOYS). */
export function slackConfigDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-slack-'));
  writeFileSync(
    path.join(dir, 'deckhand.yaml'),
    `
environments:
  staging: { aliases: [stg] }
  production: { aliases: [prod], protected: true, approvers: [U0CAROL] }
apps:
  hello:
    provider: { script: ${path.join(projectRoot, 'scripts/hello-deploy.sh')}, timeout: 30s }
    environments: [staging, production]
    default: { ref: main, environment: staging }
    notify: C0DEPLOYS
roles:
  deployers: { members: [U0ALICE], may: [deploy:*, lock:*] }
`,
  );
  return dir;
}
