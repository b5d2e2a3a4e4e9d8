import type { Emitter, Liquid, Template } from 'liquidjs';
import { DeckhandError, ErrorCode } from '../core/errors.js';
import { lazyRequire } from '../core/lazy-module.js';

/**
 * Per-event `{{ ... }}` templates for reactions, rendered with liquidjs.
 *
 * The data is untrusted (webhook payloads), the templates come from the config. Liquid never
 * re-parses output, so a payload value containing `{{ ... }}` or `{% ... %}` is printed literally.
 * Secrets are resolved at load time and never reach this engine.
 */

export interface TemplateEngineOptions {
  /** Longest output one render may produce; beyond it render throws. Default 100_000. */
  maxOutputChars?: number;
  /** Wall-clock budget of one render, checked by liquidjs at every tag / loop iteration. Default 500. */
  maxRenderMs?: number;
}

export interface TemplateEngine {
  render(template: string, data: Record<string, unknown>): string;
  /** Renders every string in a nested object/array; keys and non-string values are unchanged. */
  renderDeep<T>(value: T, data: Record<string, unknown>): T;
  /** null if the template parses, else a one-line message describing the problem. */
  check(template: string): string | null;
}

/** A DeckhandError (E_TEMPLATE), so a job that hits one is not retried: the same event renders the same way. */
export class TemplateError extends DeckhandError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Template, message, {}, options);
    this.name = 'TemplateError';
  }
}

/** Units of liquidjs's allocation accounting (array/range sizes, string lengths made by filters). */
const MEMORY_LIMIT = 10_000_000;
const MAX_TEMPLATE_CHARS = 1_000_000;
const CACHE_SIZE = 500;
const FILE_TAGS = ['include', 'render', 'layout'];

/**
 * liquidjs is loaded (its CommonJS entry, which is also what `import 'liquidjs'` gives) by the first
 * template that has a `{{` or `{%`: reactions whose strings are all plain text never need it, and a
 * start does not pay for it (decision 016). Synchronous, as rendering is.
 */
const liquidjs = lazyRequire<typeof import('liquidjs')>('liquidjs');

/** Text with no `{{` or `{%` is itself (Liquid's tokenizer makes one text token of it): no engine needed. */
const isPlainText = (template: string) => !template.includes('{{') && !template.includes('{%');

export function createTemplateEngine(options: TemplateEngineOptions = {}): TemplateEngine {
  const maxOutputChars = options.maxOutputChars ?? 100_000;
  let engine: Liquid | undefined;
  const getLiquid = () => (engine ??= newLiquid(options.maxRenderMs ?? 500));

  const cache = new Map<string, Template[]>();
  function parse(template: string): Template[] {
    let parsed = cache.get(template);
    if (!parsed) {
      parsed = getLiquid().parse(template);
      if (cache.size >= CACHE_SIZE) cache.clear();
      cache.set(template, parsed);
    }
    return parsed;
  }

  function render(template: string, data: Record<string, unknown>): string {
    if (isPlainText(template)) return capped(template, maxOutputChars);
    // Outside the try: liquidjs failing to load is not a problem of this template (nor E_TEMPLATE).
    const liquid = getLiquid();
    const { Context, toValueSync } = liquidjs();
    try {
      const emitter = new CappedEmitter(maxOutputChars);
      const ctx = new Context(data, liquid.options, { sync: true }, { liquid });
      toValueSync(liquid.renderer.renderTemplates(parse(template), ctx, emitter));
      return emitter.buffer;
    } catch (error) {
      throw new TemplateError(`template ${preview(template)} failed: ${oneLine(error)}`, { cause: error });
    }
  }

  function renderDeep<T>(value: T, data: Record<string, unknown>): T {
    const walk = (node: unknown): unknown => {
      if (typeof node === 'string') return render(node, data);
      if (Array.isArray(node)) return node.map(walk);
      if (isPlainObject(node)) return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, walk(child)]));
      return node;
    };
    return walk(value) as T;
  }

  function check(template: string): string | null {
    // Liquid refuses a template longer than parseLimit even when it is plain text.
    if (isPlainText(template) && template.length <= MAX_TEMPLATE_CHARS) return null;
    getLiquid();
    try {
      parse(template);
      return null;
    } catch (error) {
      return oneLine(error);
    }
  }

  return { render, renderDeep, check };
}

function newLiquid(maxRenderMs: number): Liquid {
  const { Liquid } = liquidjs();
  const liquid = new Liquid({
    // An empty in-memory template map: even if a file tag slipped through, lookups never touch the disk.
    templates: {},
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    parseLimit: MAX_TEMPLATE_CHARS,
    renderLimit: maxRenderMs,
    memoryLimit: MEMORY_LIMIT,
  });
  // Fail at parse time (so `check` reports it) rather than with a lookup error at render time.
  for (const tag of FILE_TAGS) {
    liquid.registerTag(tag, {
      parse() {
        throw new Error(`{% ${tag} %} is not available: templates cannot read files`);
      },
      render() {
        return '';
      },
    });
  }
  // Liquid's url_encode writes spaces as "+" (form encoding); this one is for path segments and query values.
  liquid.registerFilter('urlencode', (value: unknown) => encodeURIComponent(stringify(value)));
  return liquid;
}

/**
 * Renders a JSON request body from the config: strings are templates, numbers/booleans/null pass through.
 * A string stays a string even when it is a single expression (`"{{ deployment.id }}"` gives `"42"`, never 42):
 * the type of each field is the one written in the config, whatever the event contains.
 * Because values are inserted into a structure that is serialised afterwards, a payload cannot break out of its
 * JSON string, as it could with a body templated as raw JSON text.
 */
export function renderJsonBody(engine: TemplateEngine, body: unknown, data: Record<string, unknown>): unknown {
  return engine.renderDeep(body, data);
}

/** Stops a render as soon as it has written too much, instead of building a huge string first. */
class CappedEmitter implements Emitter {
  buffer = '';
  constructor(private readonly max: number) {}
  write(html: unknown): void {
    this.buffer = capped(this.buffer + stringify(html), this.max);
  }
}

function capped(output: string, max: number): string {
  if (output.length > max) throw new TemplateError(`output is longer than ${max} characters`);
  return output;
}

/** How liquidjs turns an output value into text. */
function stringify(value: unknown): string {
  const plain: unknown = liquidjs().toValue(value);
  if (typeof plain === 'string') return plain;
  if (plain === null || plain === undefined) return '';
  if (Array.isArray(plain)) return plain.map(stringify).join('');
  return String(plain);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

function preview(template: string): string {
  return JSON.stringify(template.length > 40 ? `${template.slice(0, 40)}…` : template);
}
