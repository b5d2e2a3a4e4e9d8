import { loadConfig } from '../config/load-config.js';
import { isDeckhandError } from '../core/errors.js';
import { loadReactions } from '../reactions/load-reactions.js';

export interface ValidateInput {
  configPath: string | undefined;
  fallbackConfig: string;
  reactionsDir: string;
  env: NodeJS.ProcessEnv;
  write: (line: string) => void;
}

/** `deckhand validate`: checks the config and every reaction; exit code 0 when all is well. */
export function validate(input: ValidateInput): number {
  let ok = true;
  try {
    const config = loadConfig({ configPath: input.configPath, fallbackPath: input.fallbackConfig, env: input.env });
    input.write(`ok    ${config.file}: ${Object.keys(config.apps).length} apps, ${Object.keys(config.environments).length} environments, ${Object.keys(config.roles).length} roles`);
    for (const w of config.warnings ?? []) input.write(`warn  ${w}`);
  } catch (err) {
    ok = false;
    input.write(isDeckhandError(err) ? `error ${err.message}` : `error ${String(err)}`);
  }
  try {
    const loaded = loadReactions(input.reactionsDir, input.env);
    for (const r of loaded.reactions) input.write(`ok    reaction ${r.name} (${r.kind}) — ${r.file}`);
    for (const d of loaded.disabled) input.write(`off   reaction ${d.name}: ${d.reason}`);
    for (const w of loaded.warnings) input.write(`warn  ${w}`);
  } catch (err) {
    ok = false;
    input.write(isDeckhandError(err) ? `error ${err.message}` : `error ${String(err)}`);
  }
  return ok ? 0 : 1;
}
