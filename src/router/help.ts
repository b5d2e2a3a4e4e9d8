import type { Router } from './router.js';
import type { CommandDefinition } from './types.js';

/** The command list, generated from the declarations. */
export function renderHelp(router: Router, botName: string): string {
  const lines = router.commands.map((command) => `  ${router.usage(command)[0]}  — ${command.summary}`);
  return [`${botName} commands (say "help <command>" for details):`, ...lines].join('\n');
}

export function renderCommandHelp(router: Router, command: CommandDefinition): string {
  const out = [`${command.id}: ${command.summary}`];
  if (command.description) out.push(command.description);
  out.push('Usage:', ...router.usage(command).map((u) => `  ${u}`));
  if (command.examples.length) out.push('Examples:', ...command.examples.map((e) => `  ${e}`));
  if (command.permission) out.push(`Needs permission: ${command.permission}`);
  if (command.confirm) out.push('Asks for confirmation before it runs.');
  return out.join('\n');
}

export function renderUsage(router: Router, command: CommandDefinition, problem?: string): string {
  const usage = router.usage(command);
  const head = problem ? `${problem}\n` : '';
  return `${head}Usage: ${usage.join('\n       ')}\nSay "help ${command.id}" for examples.`;
}

export function renderUnknown(word: string, suggestions: readonly string[]): string {
  const hint = suggestions.length > 0 ? ` Did you mean: ${suggestions.join(', ')}?` : '';
  return `I don't know the command "${word}".${hint} Say "help" for the list.`;
}
