/**
 * Checks requests against GitHub's own REST API description (an extract of @octokit/openapi's
 * `api.github.com.deref.json`: the routes the fake serves and the webhooks it sends, made by
 * `openapi/extract.mjs`, which records the package version), so a fake GitHub built on it rejects
 * what the real API rejects:
 *
 *   validateRequest('POST', '/repos/acme/api/deployments', { ref: 'main', auto_merge: 'yes' })
 *   // → ["body.auto_merge must be boolean (got string \"yes\")"]
 *
 * The description is loaded lazily, once per
 * module instance (jest gives every test file its own module registry, so: once per test file),
 * and every compiled validator is cached. Call `loadOpenApi()` in a `beforeAll` to pay the cost
 * up front and to read how long it took.
 *
 * The description is OpenAPI 3.0, whose schemas are not quite JSON Schema; `toJsonSchema`
 * bridges the gap before ajv sees them (see there).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

// ---------------------------------------------------------------------------------------------
// The parts of the description this module reads.

export interface OpenApiMediaType {
  schema?: unknown;
  examples?: Record<string, { value?: unknown }>;
}

export interface OpenApiOperation {
  operationId?: string;
  summary?: string;
  externalDocs?: { url?: string };
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Record<string, unknown>; 'x-multi-segment'?: boolean }>;
  requestBody?: { required?: boolean; content?: Record<string, OpenApiMediaType> };
  responses?: Record<string, { description?: string; content?: Record<string, OpenApiMediaType> }>;
}

interface OpenApiDocument {
  openapi: string;
  info?: { version?: string };
  paths: Record<string, Record<string, unknown>>;
  /** Webhook events, keyed like `deployment-created`: the body GitHub POSTs is the request body. */
  'x-webhooks'?: Record<string, { post?: OpenApiOperation }>;
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string; multi: boolean }
  /** A segment mixing text and parameters, e.g. `{base}...{head}`. */
  | { kind: 'pattern'; regex: RegExp; names: string[] };

const SPECIFICITY: Record<Segment['kind'], number> = { literal: 2, pattern: 1, param: 0 };

interface Route {
  template: string;
  segments: Segment[];
  operations: Map<string, OpenApiOperation>;
}

export interface OpenApiStats {
  file: string;
  /** The description's own version (`info.version`). */
  version: string;
  readMs: number;
  parseMs: number;
  indexMs: number;
  totalMs: number;
  operations: number;
}

interface LoadedDescription {
  routes: Route[];
  webhooks: NonNullable<OpenApiDocument['x-webhooks']>;
  stats: OpenApiStats;
}

let loaded: LoadedDescription | undefined;

/** Reads, parses and indexes the description the first time it is needed; later calls are free. */
export function loadOpenApi(): OpenApiStats {
  return description().stats;
}

function description(): LoadedDescription {
  if (loaded) return loaded;
  const started = performance.now();
  const file = fileURLToPath(new URL('./openapi/api.github.com.extract.json', import.meta.url));
  const text = readFileSync(file, 'utf8');
  const read = performance.now();
  const doc = JSON.parse(text) as OpenApiDocument;
  const parsed = performance.now();
  const routes = indexRoutes(doc);
  const indexed = performance.now();
  loaded = {
    routes,
    webhooks: doc['x-webhooks'] ?? {},
    stats: {
      file,
      version: doc.info?.version ?? 'unknown',
      readMs: Math.round(read - started),
      parseMs: Math.round(parsed - read),
      indexMs: Math.round(indexed - parsed),
      totalMs: Math.round(indexed - started),
      operations: routes.reduce((sum, route) => sum + route.operations.size, 0),
    },
  };
  return loaded;
}

function indexRoutes(doc: OpenApiDocument): Route[] {
  const routes: Route[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const operations = new Map<string, OpenApiOperation>();
    for (const [method, operation] of Object.entries(item)) {
      if (HTTP_METHODS.has(method) && operation && typeof operation === 'object') operations.set(method, operation as OpenApiOperation);
    }
    // A parameter may span several segments (`x-multi-segment`: branch names, file paths, refs).
    const multiSegment = new Set<string>();
    for (const operation of operations.values()) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'path' && (parameter['x-multi-segment'] === true || parameter.schema?.['x-multi-segment'] === true)) multiSegment.add(parameter.name);
      }
    }
    const segments = template
      .split('/')
      .slice(1)
      .map((part): Segment => {
        const param = /^\{([^}]+)\}$/.exec(part);
        if (param?.[1] !== undefined) return { kind: 'param', name: param[1], multi: multiSegment.has(param[1]) };
        if (!part.includes('{')) return { kind: 'literal', text: part };
        const names: string[] = [];
        const source = part
          .split(/(\{[^}]+\})/)
          .map((piece) => {
            const name = /^\{([^}]+)\}$/.exec(piece)?.[1];
            if (name === undefined) return piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            names.push(name);
            return '(.+?)';
          })
          .join('');
        return { kind: 'pattern', regex: new RegExp(`^${source}$`), names };
      });
    routes.push({ template, segments, operations });
  }
  return routes;
}

// ---------------------------------------------------------------------------------------------
// Finding the operation for a concrete path.

export interface MatchedOperation {
  /** Lower-case HTTP method. */
  method: string;
  /** The description's path template, e.g. `/repos/{owner}/{repo}/deployments/{deployment_id}`. */
  template: string;
  /** Decoded path parameters, e.g. `{ owner: 'acme', repo: 'api', deployment_id: '7' }`. */
  params: Record<string, string>;
  operationId: string;
  /** The operation's page on docs.github.com (GitHub puts it in error bodies as `documentation_url`). */
  documentationUrl: string;
  operation: OpenApiOperation;
}

/** Literal text beats a parameter at the first place two matching templates differ. */
function moreSpecific(a: Segment[], b: Segment[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = SPECIFICITY[a[i]?.kind ?? 'param'];
    const y = SPECIFICITY[b[i]?.kind ?? 'param'];
    if (x !== y) return x > y;
  }
  return a.length > b.length;
}

/** Matches request path segments against a template; multi-segment parameters take one or more segments. */
function matchSegments(segments: Segment[], parts: string[], si = 0, pi = 0, params: Record<string, string> = {}): Record<string, string> | undefined {
  if (si === segments.length) return pi === parts.length ? params : undefined;
  const segment = segments[si];
  if (!segment || pi >= parts.length) return undefined;
  if (segment.kind === 'literal') {
    return parts[pi] === segment.text ? matchSegments(segments, parts, si + 1, pi + 1, params) : undefined;
  }
  if (segment.kind === 'pattern') {
    const found = segment.regex.exec(safeDecode(parts[pi] ?? ''));
    if (!found) return undefined;
    const captured = Object.fromEntries(segment.names.map((name, i) => [name, found[i + 1] ?? '']));
    return matchSegments(segments, parts, si + 1, pi + 1, { ...params, ...captured });
  }
  const last = segment.multi ? parts.length - (segments.length - si - 1) : pi + 1;
  for (let end = last; end > pi; end--) {
    const taken = parts.slice(pi, end);
    if (taken.some((part) => part === '')) continue;
    const decoded = taken.map(safeDecode).join('/');
    const result = matchSegments(segments, parts, si + 1, end, { ...params, [segment.name]: decoded });
    if (result) return result;
  }
  return undefined;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function splitPath(path: string): string[] {
  const bare = path.split('?')[0] ?? '';
  return bare.split('/').slice(1);
}

function matchingRoutes(path: string): Array<{ route: Route; params: Record<string, string> }> {
  const parts = splitPath(path);
  const matches: Array<{ route: Route; params: Record<string, string> }> = [];
  for (const route of description().routes) {
    const params = matchSegments(route.segments, parts);
    if (params) matches.push({ route, params });
  }
  return matches;
}

/** The operation GitHub would route `METHOD path` to (query string ignored), or undefined. */
export function findOperation(method: string, path: string): MatchedOperation | undefined {
  const verb = method.toLowerCase();
  let best: { route: Route; params: Record<string, string>; operation: OpenApiOperation } | undefined;
  for (const { route, params } of matchingRoutes(path)) {
    const operation = route.operations.get(verb);
    if (!operation) continue;
    if (!best || moreSpecific(route.segments, best.route.segments)) best = { route, params, operation };
  }
  if (!best) return undefined;
  return {
    method: verb,
    template: best.route.template,
    params: best.params,
    operationId: best.operation.operationId ?? `${verb} ${best.route.template}`,
    documentationUrl: best.operation.externalDocs?.url ?? 'https://docs.github.com/rest',
    operation: best.operation,
  };
}

/** The JSON content the description gives for one response status of an operation. */
export function openApiResponse(method: string, path: string, status: number): { schema?: unknown; examples: unknown[] } | undefined {
  const match = findOperation(method, path);
  const media = match?.operation.responses?.[String(status)]?.content?.['application/json'];
  if (!media) return undefined;
  return { schema: media.schema, examples: Object.values(media.examples ?? {}).map((example) => example.value) };
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 schema → JSON Schema, and ajv.

/**
 * - `nullable: true` becomes a `null` type (and a `null` enum member); ajv's own `nullable`
 *   support throws on schemas without `type` and rejects null against an enum.
 * - `oneOf` becomes `anyOf`: GitHub's description uses oneOf for "any of these shapes" and its
 *   branches overlap (two nullable branches both accept null; objects without required fields
 *   both accept `{}`), so a strict oneOf would reject values the API accepts.
 * - `example` and `x-*` extensions are dropped; other unknown keywords are ignored (strict: false).
 */
export function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const source = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    if (key === 'nullable' || key === 'example' || key.startsWith('x-')) continue;
    if (key === 'properties' || key === 'patternProperties') {
      out[key] = Object.fromEntries(Object.entries((value ?? {}) as Record<string, unknown>).map(([name, sub]) => [name, toJsonSchema(sub)]));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = typeof value === 'object' ? toJsonSchema(value) : value;
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key === 'oneOf' ? 'anyOf' : key] = toJsonSchema(value);
    } else {
      out[key] = value;
    }
  }
  if ('oneOf' in source && 'anyOf' in source) {
    // Both present: keep both constraints.
    out.allOf = [...((out.allOf as unknown[] | undefined) ?? []), { anyOf: toJsonSchema(source.oneOf) }];
    out.anyOf = toJsonSchema(source.anyOf);
  }
  if (source.nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
    return out;
  }
  if ('anyOf' in out || 'allOf' in out || 'enum' in out) return { anyOf: [out, { type: 'null' }] };
  return out;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:?\d{2})$/;

let ajv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

function validatorFor(schema: object): ValidateFunction {
  const cached = compiled.get(schema);
  if (cached) return cached;
  ajv ??= new Ajv({
    strict: false,
    allErrors: true,
    verbose: true,
    validateSchema: false,
    // Formats GitHub's request bodies use; any other format is not checked. For `uri` the
    // description's own defaults are "" (and the API answers "" for unset URLs), so "" passes.
    formats: {
      'date-time': RFC3339,
      date: /^\d{4}-\d{2}-\d{2}$/,
      uri: (value: string) => value === '' || URL.canParse(value),
      'repo.nwo': /^[\w.-]+\/[\w.-]+$/,
      int64: true,
      email: /^[^\s@]+@[^\s@]+$/,
    },
    logger: { log: () => undefined, warn: () => undefined, error: (...args: unknown[]) => console.error(...args) },
  });
  const validate = ajv.compile(toJsonSchema(schema) as object);
  compiled.set(schema, validate);
  return validate;
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** `/required_contexts/0` → `.required_contexts[0]` */
function location(label: string, instancePath: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  return label + parts.map((part) => (/^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_$][\w$]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`)).join('');
}

function describeError(error: ErrorObject, label: string): string {
  const where = location(label, error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${where} is missing required property '${String(params.missingProperty)}'`;
    case 'additionalProperties':
      return `${where} has unknown property '${String(params.additionalProperty)}'`;
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as unknown[]).map(show).join(', ')} (got ${show(error.data)})`;
    case 'type':
      return `${where} must be ${Array.isArray(params.type) ? params.type.join(' or ') : String(params.type)} (got ${jsonType(error.data)}${
        error.data !== null && typeof error.data !== 'object' ? ` ${show(error.data)}` : ''
      })`;
    case 'const':
      return `${where} must be ${show(params.allowedValue)} (got ${show(error.data)})`;
    default:
      return `${where} ${error.message ?? `fails ${error.keyword}`}${error.data !== null && typeof error.data !== 'object' ? ` (got ${show(error.data)})` : ''}`;
  }
}

/** Readable problems; an anyOf failure is one line that lists why each alternative failed. */
function describeErrors(errors: ErrorObject[], label: string): string[] {
  const alternatives = errors.filter((error) => error.keyword === 'anyOf');
  const inBranch = (error: ErrorObject) =>
    alternatives.some((alt) => alt !== error && error.schemaPath.startsWith(`${alt.schemaPath}/`) && error.instancePath.startsWith(alt.instancePath));
  const problems: string[] = [];
  for (const error of errors) {
    if (inBranch(error)) continue;
    if (error.keyword !== 'anyOf') {
      problems.push(describeError(error, label));
      continue;
    }
    const where = location(label, error.instancePath);
    const reasons = errors
      .filter((other) => other !== error && other.schemaPath.startsWith(`${error.schemaPath}/`) && other.instancePath.startsWith(error.instancePath))
      .map((other) => describeError(other, label).replace(`${where} `, ''));
    problems.push(`${where} matches none of the allowed shapes${reasons.length ? `: ${[...new Set(reasons)].join('; ')}` : ''}`);
  }
  return [...new Set(problems)];
}

/** Validates `value` against an OpenAPI 3.0 schema taken from the description. Empty = valid. */
export function validateAgainstSchema(schema: unknown, value: unknown, label = 'value'): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const validate = validatorFor(schema);
  if (validate(value)) return [];
  return describeErrors(validate.errors ?? [], label);
}

// ---------------------------------------------------------------------------------------------

/**
 * Problems the real API would reject `METHOD path` with `body` for (empty = valid), checked
 * against the operation's `application/json` request body schema. `path` is the concrete path,
 * e.g. `/repos/acme/api/deployments` (a query string is ignored). `body` is the parsed JSON body,
 * or undefined when none was sent. Operations without a JSON body schema accept any body.
 */
export function validateRequest(method: string, path: string, body: unknown): string[] {
  const match = findOperation(method, path);
  if (!match) {
    const methods = [...new Set(matchingRoutes(path).flatMap(({ route }) => [...route.operations.keys()]))];
    return methods.length > 0
      ? [`${method.toUpperCase()} ${path.split('?')[0]} is not an operation of GitHub's REST API (that path takes ${methods.map((m) => m.toUpperCase()).join(', ')})`]
      : [`no operation of GitHub's REST API matches ${method.toUpperCase()} ${path.split('?')[0]}`];
  }
  const requestBody = match.operation.requestBody;
  const schema = requestBody?.content?.['application/json']?.schema;
  if (!schema || typeof schema !== 'object') return [];
  if (body === undefined) {
    // No body at all: fine unless the schema requires properties (checked against `{}`) or a non-object body.
    if ((schema as { type?: unknown }).type === 'object') return validateAgainstSchema(schema, {}, 'body');
    return requestBody?.required ? [`${match.operationId} requires a JSON request body`] : [];
  }
  return validateAgainstSchema(schema, body, 'body');
}

/**
 * Problems with a webhook body GitHub would never send (empty = valid), checked against the
 * description's `x-webhooks` schema for `name` (e.g. `deployment-created`). An unknown name is a problem.
 */
export function validateWebhook(name: string, body: unknown): string[] {
  const schema = description().webhooks[name]?.post?.requestBody?.content?.['application/json']?.schema;
  if (!schema || typeof schema !== 'object') return [`GitHub's description has no webhook "${name}"`];
  return validateAgainstSchema(schema, body, name);
}
