#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { createDeckhand, projectRoot } from './app.js';
import { loadEnv } from './config/env.js';
import { loadConfig } from './config/load-config.js';
import { systemClock } from './core/clock.js';
import { DeckhandError, ErrorCode, isDeckhandError } from './core/errors.js';
import type { OperatorCommand } from './cli/operators.js';
import { createLogger } from './core/logger.js';
import { slackBotTeam } from './console/slack-oidc.js';
import { loadReactions, type Reaction } from './reactions/load-reactions.js';
import { openStore } from './store/open-store.js';
import { githubAuthFromEnv } from './github/octokit.js';
import { explainListenError } from './http/explain-listen-error.js';

// The operator commands (and what they load) are imported only for a command or for help: not on a start.
const usage = (operatorUsage: string) => `Usage: deckhand                      start the bot (Slack when SLACK_BOT_TOKEN is set, else the terminal)
       deckhand validate             check deckhand.yaml and every reaction
       deckhand trigger <reaction> [--payload file.json] [--query k=v ...] [--dry-run]
                                     run a reaction by hand (--dry-run: show what it would send)
       deckhand schema [reaction|config]   print the JSON Schema of a file format
${operatorUsage}`;

async function main(): Promise<void> {
  // Variables already set in the environment win over .env (Node's own loader keeps them).
  if (existsSync('.env')) process.loadEnvFile('.env');
  let env = loadEnv();
  if (env.DECKHAND_SECRETS_FILE) {
    // Like .env: variables already set win. A missing file is an error, not a silent no-op.
    if (!existsSync(env.DECKHAND_SECRETS_FILE)) throw new DeckhandError(ErrorCode.EnvInvalid, `DECKHAND_SECRETS_FILE points to ${env.DECKHAND_SECRETS_FILE}, which does not exist.`);
    process.loadEnvFile(env.DECKHAND_SECRETS_FILE);
    env = loadEnv();
  }
  const [command, ...rest] = process.argv.slice(2);
  const reactionsDir = env.DECKHAND_REACTIONS ?? (existsSync('reactions') ? 'reactions' : path.join(projectRoot, 'reactions'));
  const fallbackConfig = path.join(projectRoot, 'deckhand.example.yaml');
  if (command === 'validate') {
    const { validate } = await import('./cli/validate.js');
    process.exit(validate({ configPath: env.DECKHAND_CONFIG, fallbackConfig, reactionsDir, env: process.env, write: (l) => process.stdout.write(`${l}\n`) }));
  }
  if (command === 'schema') {
    const schemas = (await import('./cli/schema.js')).jsonSchemas();
    process.stdout.write(`${JSON.stringify(rest[0] === 'config' ? schemas.config : schemas.reaction, null, 2)}\n`);
    return;
  }
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${usage((await import('./cli/operators.js')).operatorUsage)}\n`);
    return;
  }
  if (command !== undefined && command !== 'trigger') {
    const { operatorCommands, operatorUsage } = await import('./cli/operators.js');
    if (!(operatorCommands as readonly string[]).includes(command)) throw new DeckhandError(ErrorCode.Usage, `Unknown command "${command}".\n${usage(operatorUsage)}`);
  }
  // On the terminal, stdout is the conversation: logs go to stderr and default to warnings only.
  const logger = createLogger(env.LOG_LEVEL ?? 'warn');
  const config = loadConfig({ configPath: env.DECKHAND_CONFIG, fallbackPath: fallbackConfig });
  if (command !== undefined && command !== 'trigger') {
    // deckhand token | deliveries | replay | jobs | retry | audit: the store the bot uses, no bot.
    let reactionSecrets: string[] = [];
    try {
      reactionSecrets = loadReactions(reactionsDir).reactions.flatMap((r) => r.secrets);
    } catch {
      // A broken reaction does not keep an operator from looking; `deckhand validate` reports it.
    }
    const store = await openStore(env.DATABASE_URL);
    try {
      const user = `cli:${env.DECKHAND_SHELL_USER ?? os.userInfo().username}`;
      const cli = { store, config, clock: systemClock, secrets: [...config.secrets, ...reactionSecrets], user, write: (text: string) => void process.stdout.write(text) };
      process.exitCode = await (await import('./cli/operators.js')).runOperatorCommand(command as OperatorCommand, rest, cli);
    } finally {
      await store.close();
    }
    return;
  }
  // Known once the server listens (PORT=0 picks the port); used for log links.
  let publicUrl = env.DECKHAND_PUBLIC_URL ?? `http://localhost:${env.PORT}`;
  const loaded = loadReactions(reactionsDir);
  for (const warning of loaded.warnings) logger.warn(`reactions: ${warning}`);
  // deckhand trigger: the reaction and its context first; a dry run needs nothing else (no store, no bot).
  let manual: { reaction: Reaction; context: Record<string, unknown> } | null = null;
  if (command === 'trigger') {
    const { dryRun, findReaction, manualContext } = await import('./cli/trigger.js');
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { payload: { type: 'string' }, query: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } } });
    const reaction = findReaction(loaded, positionals[0] ?? '');
    const query = Object.fromEntries((values.query ?? []).map((q) => [q.split('=')[0] ?? '', q.split('=').slice(1).join('=')]));
    const context = manualContext(reaction, values.payload, query, new Date());
    if (values['dry-run']) {
      process.stdout.write(`${JSON.stringify(dryRun(reaction, context, path.dirname(path.resolve(reactionsDir)), config.secrets), null, 2)}\n`);
      return;
    }
    manual = { reaction, context };
  }
  const store = await openStore(env.DATABASE_URL);
  const deckhand = await createDeckhand({
    config,
    store,
    logger,
    dataDir: path.resolve(env.DECKHAND_DATA_DIR),
    reactions: loaded.reactions,
    reactionsBaseDir: path.dirname(path.resolve(reactionsDir)),
    jobLeaseMs: env.DECKHAND_JOB_LEASE,
    heartbeatMs: env.DECKHAND_HEARTBEAT,
    retention: env.DECKHAND_RETENTION,
    github: { auth: githubAuthFromEnv(env), apiUrl: env.GITHUB_API_URL, webhookSecret: env.GITHUB_WEBHOOK_SECRET },
    octopus:
      env.OCTOPUS_URL && env.OCTOPUS_API_KEY
        ? { url: env.OCTOPUS_URL, apiKey: env.OCTOPUS_API_KEY, space: env.OCTOPUS_SPACE, webhookSecret: env.OCTOPUS_WEBHOOK_SECRET, webhookHeader: env.OCTOPUS_WEBHOOK_HEADER }
        : undefined,
    oncall: {
      apiUrl: env.SPLUNK_ONCALL_API_URL,
      apiId: env.SPLUNK_ONCALL_API_ID,
      apiKey: env.SPLUNK_ONCALL_API_KEY,
      webhookUrl: env.SPLUNK_ONCALL_WEBHOOK_URL,
      webhookKey: env.SPLUNK_ONCALL_WEBHOOK_KEY,
    },
    publicUrl: () => publicUrl,
    metricsToken: env.DECKHAND_METRICS_TOKEN,
    console: {
      secret: env.DECKHAND_CONSOLE_SECRET,
      // Sign in with Slack when Deckhand runs on Slack: only people of the bot's workspace.
      slack:
        env.SLACK_BOT_TOKEN && env.SLACK_CLIENT_ID && env.SLACK_CLIENT_SECRET
          ? { clientId: env.SLACK_CLIENT_ID, clientSecret: env.SLACK_CLIENT_SECRET, baseUrl: env.SLACK_OIDC_URL, team: slackBotTeam(env.SLACK_BOT_TOKEN, env.SLACK_API_URL) }
          : undefined,
      disabledReactions: loaded.disabled,
    },
  });
  logger.info({ on: loaded.reactions.map((r) => r.name), off: loaded.disabled.map((d) => `${d.name} (${d.reason})`) }, 'reactions loaded');

  if (manual) {
    const { reaction, context } = manual;
    const printer = { post: async (c: string, t: string) => void process.stdout.write(`[${c}] ${t}\n`), react: async (c: string, ts: string, e: string) => void process.stdout.write(`[${c}] :${e}: on ${ts}\n`) };
    deckhand.setChat(printer);
    await deckhand.reactions.runManually(reaction, context);
    await deckhand.runner.idle();
    process.stdout.write(`reaction ${reaction.name}: done\n`);
    await deckhand.close();
    return;
  }

  // Every configured chat platform through the registry (adapters/index.ts), the terminal when none
  // is. They start before the server listens: Slack registers /slack/events, Teams /teams/messages.
  // Each platform's code (Bolt, jose) is loaded only when it is configured.
  const adapters = await (await import('../adapters/index.js')).startChatAdapters({
    env,
    http: deckhand.http,
    dispatcher: deckhand.dispatcher,
    actions: deckhand.actions,
    bus: deckhand.bus,
    store,
    config,
    logger,
    clock: systemClock,
    publicUrl: () => publicUrl,
    metrics: deckhand.metrics,
  });
  const terminal = adapters.find((a) => a.run) ?? null;
  const stopAdapters = async () => {
    await Promise.all(adapters.map((a) => a.stop()));
  };

  // On the terminal (a laptop) nothing from outside needs to reach /triggers or /api: loopback only,
  // unless HOST says otherwise. On a chat platform Deckhand is a server: all interfaces.
  const host = env.HOST ?? (terminal ? '127.0.0.1' : '0.0.0.0');
  const address = await deckhand.http.listen({ port: env.PORT, host }).catch(async (err: unknown) => {
    await deckhand.close(stopAdapters).catch(() => {});
    throw explainListenError(err, env.PORT, host);
  });
  if (!env.DECKHAND_PUBLIC_URL) publicUrl = `http://localhost:${new URL(address).port}`;
  logger.info({ address, config: config.file, adapter: adapters.map((a) => a.label).join(' + ') }, 'deckhand started');

  let stopping: Promise<void> | null = null;
  const stop = (code: number) => {
    stopping ??= deckhand.close(stopAdapters).then(() => process.exit(code));
    return stopping;
  };
  // SIGTERM (Kubernetes, systemd, docker stop, a rolling restart): the graceful stop. Not ready at
  // once, nothing new starts here, running work gets DECKHAND_SHUTDOWN_GRACE, then exit 0.
  const shutdown = () => {
    if (stopping) return;
    logger.warn({ graceMs: env.DECKHAND_SHUTDOWN_GRACE }, 'SIGTERM: shutting down gracefully');
    stopping = deckhand
      .shutdown(env.DECKHAND_SHUTDOWN_GRACE, stopAdapters)
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`deckhand: the graceful shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
  };
  // Ctrl-C stops at once (running deployments are cancelled), as does a signal during the graceful stop.
  process.once('SIGINT', () => void (stopping ? process.exit(130) : stop(130)));
  process.on('SIGTERM', () => (stopping ? process.exit(143) : shutdown()));

  if (!terminal) {
    // A chat step's `channel:` (and the API's /messages) goes to the first platform (Slack when both
    // run); `slack:` / `teams:` name one.
    const defaultChat = (adapters[0] as (typeof adapters)[number]).chat;
    deckhand.setChat({
      post: (...args) => defaultChat.post(...args),
      react: (...args) => defaultChat.react(...args),
      on: (platform) => adapters.find((a) => a.name === platform)?.chat ?? null,
    });
    await deckhand.runner.recover();
    deckhand.startBackground();
    // Runs until SIGINT / SIGTERM.
    for (const adapter of adapters) process.stderr.write(`${adapter.describe(address)}\n`);
    return;
  }

  deckhand.setChat(terminal.chat);
  await deckhand.runner.recover();
  deckhand.startBackground();
  process.stdout.write(`${terminal.describe(address)}\n`);
  await terminal.run?.((message) => deckhand.dispatcher.handle(message));
  // End of input: let queued and running deployments finish before leaving.
  await deckhand.runner.idle();
  await deckhand.worker.idle();
  await stop(0);
}

main().catch((err: unknown) => {
  // Configuration problems are the user's to fix: print the message alone, without a stack.
  if (isDeckhandError(err)) process.stderr.write(`deckhand: ${err.message}\n`);
  else process.stderr.write(`deckhand: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
