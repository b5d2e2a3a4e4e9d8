import type { ChatAdapterModule } from '../../src/chat/chat-adapter.js';

/**
 * The terminal: one command per line on stdin, answers and notices on stdout. Never "configured":
 * the registry starts it when no chat platform is (adapters/index.ts).
 */
export const shell: ChatAdapterModule = {
  name: 'shell',
  configured: () => false,
  async start(deps) {
    const [{ ShellAdapter }, os, path, { projectRoot }, { describeDatabaseUrl }] = await Promise.all([
      import('./shell-adapter.js'),
      import('node:os'),
      import('node:path'),
      import('../../src/app.js'),
      import('../../src/store/open-store.js'),
    ]);
    const { env, config } = deps;
    const user = `shell:${env.DECKHAND_SHELL_USER ?? os.userInfo().username}`;
    const adapter = new ShellAdapter({
      input: deps.stdio?.input ?? process.stdin,
      output: deps.stdio?.output ?? process.stdout,
      user,
      botName: config.bot.name,
      approvers: (environment) => config.environments[environment]?.approvers ?? [],
      publicUrl: deps.publicUrl,
    });
    const unsubscribe = [deps.bus.subscribe(adapter.onEvent), deps.bus.subscribeOutput(adapter.onOutput)];
    const bundled = !env.DECKHAND_CONFIG && config.file === path.join(projectRoot, 'deckhand.example.yaml');
    const configName = bundled ? 'the bundled deckhand.example.yaml' : path.relative(process.cwd(), config.file) || config.file;
    return {
      name: 'shell',
      label: 'shell',
      chat: adapter.chat,
      describe: (address) => `Deckhand on the terminal as ${user} — config ${configName}, store ${describeDatabaseUrl(env.DATABASE_URL)}, HTTP ${address}. Type "help"; end with Ctrl-D.`,
      run: (handle) => adapter.run(handle),
      stop: async () => unsubscribe.forEach((off) => off()),
    };
  },
};
