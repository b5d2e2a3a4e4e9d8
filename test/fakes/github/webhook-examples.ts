import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as Array<{ name: string; examples: Array<Record<string, unknown> & { action?: string }> }>;

/** A fresh copy of a real webhook payload from @octokit/webhooks-examples: the first of `name`, or the first with `action`. */
export function webhookExample<T>(name: string, action?: string): T {
  const found = examples.find((e) => e.name === name)?.examples.find((x) => action === undefined || x.action === action);
  if (!found) throw new Error(`@octokit/webhooks-examples has no ${name}${action ? `.${action}` : ''} example`);
  return structuredClone(found) as T;
}
