/**
 * A fake Splunk On-Call (VictorOps) on 127.0.0.1 for tests of code that raises alerts, acks and
 * resolves incidents, asks who is on call and receives escalation webhooks. One server plays both
 * hosts: the public API (`/api-public/...`, normally https://api.victorops.com) and the REST
 * endpoint integration (`/integrations/...`, normally https://alert.victorops.com). See
 * /work/shared/reference/splunk-oncall.md for the facts (and guesses) this follows.
 *
 *   const fake = await startFakeOnCall();
 *   fake.addEscalationWebhook({ url: `${bot.url}/hooks/victorops`, authKey: 'hook-key' });
 *   await fetch(fake.alertUrl('deploys'), { method: 'POST', body: JSON.stringify({ message_type: 'CRITICAL', entity_id: 'web/prod' }) });
 *   const [delivery] = await fake.webhookResponses();   // the signed CRITICAL webhook, answered by the bot
 *   await fake.close();
 *
 * Alert endpoint: `POST /integrations/generic/20131114/alert/{restKey}/{routingKey}`, JSON body.
 * Unknown key → 404, missing, unknown or lower-case `message_type` → 400 (case-insensitivity is
 * not confirmed, so the fake refuses it), otherwise `{"result":"success","entity_id":...}`.
 * CRITICAL or WARNING opens an incident for the entity (or adds an alert to its open incident),
 * ACKNOWLEDGEMENT acknowledges it, RECOVERY resolves it, INFO is only recorded.
 *
 * Public API, after the checks (in this order): both `X-VO-Api-Id` and `X-VO-Api-Key` present (401),
 * both right (403), `rateLimitNext` (403):
 * - `GET /api-public/v1/incidents`
 * - `PATCH /api-public/v1/incidents/ack` and `/resolve`
 * - `GET /api-public/v1/oncall/current` (key spelling chosen with `setOnCallSpelling`)
 * Other paths under `/api-public/` answer 404, a known path with another method 405.
 *
 * Every phase change (opened, acknowledged, resolved; by alert or by API) POSTs an escalation
 * webhook to each target: form-urlencoded and signed with `X-VictorOps-Signature`. Deliveries go
 * out one at a time in the order they were fired, so a receiver sees CRITICAL before its
 * ACKNOWLEDGEMENT; `webhookResponses()` waits for them. Every incident is routed to every team:
 * its paged users, teams and policies are those of all teams at the time it opened.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CallLog, listenLocal, readIncoming, type RecordedCall } from '../incoming.js';

// ---------------------------------------------------------------------------------------------
// Public types

export interface FakeOnCallOptions {
  /** The accepted `X-VO-Api-Id`. Default `fake-api-id`. */
  apiId?: string;
  /** The accepted `X-VO-Api-Key`. Default `fake-api-key-0123456789`. */
  apiKey?: string;
  /** The REST endpoint integration key (the alert URL's first segment). Default `fake-rest-key-0123456789`. */
  restKey?: string;
  /** How long one escalation webhook may take before it counts as failed (status 0). Default 5000 ms. */
  webhookTimeoutMs?: number;
}

/** A request the fake received (see RecordedCall); `status` is what it answered (0: the connection was dropped). */
export type FakeOnCallCall = RecordedCall;

export type IncidentPhase = 'UNACKED' | 'ACKED' | 'RESOLVED';

export interface IncidentTransition {
  /** `UNACKED` when opened, then `ACKED`, `RESOLVED`. */
  name: string;
  at: string;
  /** The user (API) or `ack_author` (alert); null when unknown. */
  by: string | null;
  message: string | null;
  /** true when done through the public API, false when caused by an alert. */
  manually: boolean;
  alertId: string | null;
  alertUrl: string | null;
}

export interface PolicyRef {
  policy: { name: string; slug: string };
  team: { name: string; slug: string };
}

/** The `Incident` object of `GET /api-public/v1/incidents`. */
export interface Incident {
  incidentNumber: string;
  currentPhase: IncidentPhase;
  entityId: string;
  entityDisplayName: string;
  /** The state of the last alert: CRITICAL, WARNING, or OK after a RECOVERY alert. */
  entityState: string;
  entityType: string;
  alertCount: number;
  host: string;
  service: string;
  routingKey: string;
  startTime: string;
  lastAlertId: string;
  lastAlertTime: string;
  pagedUsers: string[];
  pagedTeams: string[];
  pagedPolicies: PolicyRef[];
  transitions: IncidentTransition[];
}

export interface EscalationTarget {
  /** The webhook URL exactly as configured in Splunk On-Call; the signature covers it verbatim. */
  url: string;
  /** The webhook's Auth Code. */
  authKey: string;
}

export interface FakeOnCallTeam {
  name: string;
  slug: string;
  policy: { name: string; slug: string };
  onCall: string[];
}

export interface WebhookDelivery {
  url: string;
  /** The receiver's status; 0 when it could not be reached or did not answer in time. */
  status: number;
  fields: Record<string, string>;
  /** The receiver's response body. */
  body: string;
  /** Why the delivery failed (status 0). */
  error?: string;
}

export interface EscalationWebhookVariant {
  /** Send a signature made with the wrong key. */
  badSignature?: boolean;
  /** Sign this URL instead of `target.url` (e.g. with a trailing slash); the POST still goes to `target.url`. */
  signedUrl?: string;
  /** Send the fields in reverse order (the signature sorts them, so it stays valid). */
  reverse?: boolean;
  /** Send no `X-VictorOps-Signature` header. */
  noSignature?: boolean;
}

export interface FakeOnCall {
  /** `http://127.0.0.1:<port>`, without a trailing slash: the base of both the public API and the alert endpoint. */
  url: string;
  apiId: string;
  apiKey: string;
  restKey: string;
  /** Every request, in arrival order, with the status it got. */
  calls: FakeOnCallCall[];
  callsTo(method: string, pathPattern: RegExp): FakeOnCallCall[];
  /** The REST endpoint URL for a routing key, with the right key: `<url>/integrations/generic/20131114/alert/<restKey>/<routingKey>`. */
  alertUrl(routingKey: string): string;

  /** Users known to the public API. `jdoe` and `asmith` exist from the start. */
  addUser(username: string): void;
  /** Adds a team (or replaces the one with this slug); its on-call users become known users. Seeded: Platform / team-platform / Primary pol-primary / ['jdoe']. */
  addTeam(team: FakeOnCallTeam): void;
  /** Copies of every incident, oldest first. */
  incidents(): Incident[];
  /**
   * Processes an alert exactly like the alert endpoint would (the routing key is `fields.routing_key`,
   * default `default`) and fires escalation webhooks. Returns the incident the alert belongs to, or
   * null (INFO, or an ack/recovery for an entity without an open incident). Throws on a bad message_type.
   */
  alert(fields: Record<string, string>): Promise<Incident | null>;
  /** The next `times` public-API calls (with good credentials) answer 403 (rate limited). */
  rateLimitNext(times?: number): void;
  /** Key spelling of `GET /api-public/v1/oncall/current`: 'clients' = oncallNow/onCalluser (default), 'swagger' = onCallNow/onCallUser. */
  setOnCallSpelling(spelling: 'clients' | 'swagger'): void;
  /** Every later phase change POSTs a signed escalation webhook to this target. */
  addEscalationWebhook(target: EscalationTarget): void;
  /**
   * Resolves when every escalation webhook fired so far (including any fired while waiting) has been
   * answered or has failed; returns all of them in firing order. Does not include `sendEscalationWebhook`.
   */
  webhookResponses(): Promise<WebhookDelivery[]>;
  /** POSTs one escalation webhook to `target.url`, signed as in the reference (section 1), with optional faults. */
  sendEscalationWebhook(target: EscalationTarget, fields: Record<string, string>, variant?: EscalationWebhookVariant): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Signature

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * `X-VictorOps-Signature`: base64 of HMAC-SHA1, keyed with the webhook's auth key, over the URL
 * followed by every field's key and value, sorted by key (code-unit order), with no separators.
 * Repeated keys (URLSearchParams only) keep their order; how Splunk treats them is not confirmed.
 */
export function victorOpsSignature(authKey: string, url: string, fields: Record<string, string> | URLSearchParams): string {
  const entries = fields instanceof URLSearchParams ? [...fields.entries()] : Object.entries(fields);
  const sorted = entries.map((entry, index) => ({ entry, index })).sort((a, b) => byCodeUnits(a.entry[0], b.entry[0]) || a.index - b.index);
  const signed = url + sorted.map(({ entry: [key, value] }) => key + value).join('');
  return createHmac('sha1', authKey).update(signed, 'utf8').digest('base64');
}

// ---------------------------------------------------------------------------------------------
// State

interface Reply {
  status: number;
  body: unknown;
}

interface IncidentState {
  incident: Incident;
  /** The alert fields escalation webhooks carry, as last set by an alert. */
  stateMessage: string;
  monitoringTool?: string;
}

const ALERT_PATH = /^\/integrations\/generic\/20131114\/alert\/([^/]+)\/([^/]+)\/?$/;
const MESSAGE_TYPES = new Set(['CRITICAL', 'WARNING', 'ACKNOWLEDGEMENT', 'RECOVERY', 'INFO']);

function now(): string {
  return new Date().toISOString();
}



function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Alert bodies may carry numbers (timestamps) or other JSON; fields are text. */
function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A `timestamp`/`state_start_time` field (seconds since the epoch) as an ISO time. */
function epochSeconds(value: string | undefined): string | undefined {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value)) return undefined;
  const date = new Date(Number(value) * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function postForm(url: string, form: string, headers: Record<string, string>, timeoutMs: number, inFlight: Set<ClientRequest>): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ status: 0, body: '', error: `invalid URL ${url}` });
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (result: { status: number; body: string; error?: string }) => {
      if (settled) return;
      settled = true;
      inFlight.delete(req);
      resolve(result);
    };
    const req = send(
      target,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(form)), ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        gotResponse = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => finish({ status: 0, body: '', error: error.message }));
        res.on('close', () => finish({ status: 0, body: '', error: 'response cut off' }));
      },
    );
    let gotResponse = false;
    inFlight.add(req);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => finish({ status: 0, body: '', error: error.message }));
    req.on('close', () => {
      if (!gotResponse) finish({ status: 0, body: '', error: 'connection closed without an answer' });
    });
    req.end(form);
  });
}

// ---------------------------------------------------------------------------------------------

export async function startFakeOnCall(options: FakeOnCallOptions = {}): Promise<FakeOnCall> {
  const apiId = options.apiId ?? 'fake-api-id';
  const apiKey = options.apiKey ?? 'fake-api-key-0123456789';
  const restKey = options.restKey ?? 'fake-rest-key-0123456789';
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 5000;

  const log = new CallLog<FakeOnCallCall>('fake On-Call');
  const calls = log.calls;
  const users = new Set<string>(['jdoe', 'asmith']);
  const teams: FakeOnCallTeam[] = [];
  const incidents: IncidentState[] = [];
  const openByEntity = new Map<string, IncidentState>();
  const targets: EscalationTarget[] = [];
  const deliveries: Array<Promise<WebhookDelivery>> = [];
  const inFlight = new Set<ClientRequest>();
  let deliveryChain: Promise<unknown> = Promise.resolve();
  let nextIncidentNumber = 1;
  let rateLimited = 0;
  let spelling: 'clients' | 'swagger' = 'clients';
  let closed = false;
  let baseUrl = '';

  function addUser(username: string): void {
    users.add(username);
  }

  function addTeam(team: FakeOnCallTeam): void {
    const copy: FakeOnCallTeam = { name: team.name, slug: team.slug, policy: { ...team.policy }, onCall: [...team.onCall] };
    const index = teams.findIndex((t) => t.slug === team.slug);
    if (index >= 0) teams[index] = copy;
    else teams.push(copy);
    for (const username of team.onCall) users.add(username);
  }

  addTeam({ name: 'Platform', slug: 'team-platform', policy: { name: 'Primary', slug: 'pol-primary' }, onCall: ['jdoe'] });

  // -------------------------------------------------------------------------------------------
  // Escalation webhooks

  function signedHeaders(target: EscalationTarget, fields: Record<string, string>, variant: EscalationWebhookVariant): Record<string, string> {
    if (variant.noSignature) return {};
    const key = variant.badSignature ? `${target.authKey}-not-the-key` : target.authKey;
    return { 'x-victorops-signature': victorOpsSignature(key, variant.signedUrl ?? target.url, fields) };
  }

  function encodeForm(fields: Record<string, string>, reverse = false): string {
    const entries = Object.entries(fields);
    if (reverse) entries.reverse();
    return new URLSearchParams(entries).toString();
  }

  async function sendEscalationWebhook(target: EscalationTarget, fields: Record<string, string>, variant: EscalationWebhookVariant = {}): Promise<{ status: number; body: string }> {
    const result = await postForm(target.url, encodeForm(fields, variant.reverse), signedHeaders(target, fields, variant), webhookTimeoutMs, inFlight);
    if (result.status === 0) throw new Error(`fake On-Call: escalation webhook to ${target.url} failed: ${result.error ?? 'no answer'}`);
    return { status: result.status, body: result.body };
  }

  /** Queues one delivery per target, after every delivery queued before it. */
  function fireWebhooks(fields: Record<string, string>): void {
    for (const target of targets) {
      const delivery = deliveryChain.then(async (): Promise<WebhookDelivery> => {
        if (closed) return { url: target.url, status: 0, fields, body: '', error: 'fake On-Call closed' };
        const result = await postForm(target.url, encodeForm(fields), signedHeaders(target, fields, {}), webhookTimeoutMs, inFlight);
        return { url: target.url, status: result.status, fields, body: result.body, ...(result.error !== undefined ? { error: result.error } : {}) };
      });
      deliveryChain = delivery;
      deliveries.push(delivery);
    }
  }

  function webhookFields(state: IncidentState, messageType: string, ack: { author?: string | undefined; message?: string | undefined } = {}): Record<string, string> {
    const { incident } = state;
    const fields: Record<string, string> = {
      message_type: messageType,
      entity_id: incident.entityId,
      entity_display_name: incident.entityDisplayName,
      state_message: state.stateMessage,
      routing_key: incident.routingKey,
      alert_type: messageType,
    };
    if (state.monitoringTool !== undefined) fields.monitoring_tool = state.monitoringTool;
    if (ack.author !== undefined) fields.ack_author = ack.author;
    if (ack.message !== undefined) fields.ack_msg = ack.message;
    return fields;
  }

  // -------------------------------------------------------------------------------------------
  // Incidents

  function transition(name: IncidentPhase, by: string | null, message: string | null, manually: boolean, alertId: string | null): IncidentTransition {
    return { name, at: now(), by, message, manually, alertId, alertUrl: alertId === null ? null : `${baseUrl}/api-public/v1/alerts/${alertId}` };
  }

  function openIncident(fields: Record<string, string>, entityId: string, routingKey: string, alertId: string): IncidentState {
    const at = now();
    const displayName = fields.entity_display_name ?? entityId;
    const incident: Incident = {
      incidentNumber: String(nextIncidentNumber++),
      currentPhase: 'UNACKED',
      entityId,
      entityDisplayName: displayName,
      entityState: fields.message_type ?? 'CRITICAL',
      entityType: 'SERVICE',
      alertCount: 1,
      host: fields.host_name ?? '',
      service: fields.service ?? displayName,
      routingKey,
      startTime: epochSeconds(fields.state_start_time) ?? epochSeconds(fields.timestamp) ?? at,
      lastAlertId: alertId,
      lastAlertTime: at,
      pagedUsers: [...new Set(teams.flatMap((t) => t.onCall))],
      pagedTeams: teams.map((t) => t.slug),
      pagedPolicies: teams.map((t) => ({ policy: { ...t.policy }, team: { name: t.name, slug: t.slug } })),
      transitions: [transition('UNACKED', null, null, false, alertId)],
    };
    const state: IncidentState = { incident, stateMessage: fields.state_message ?? '' };
    if (fields.monitoring_tool !== undefined) state.monitoringTool = fields.monitoring_tool;
    incidents.push(state);
    openByEntity.set(entityId, state);
    return state;
  }

  function noteAlert(state: IncidentState, fields: Record<string, string>, alertId: string): void {
    state.incident.lastAlertId = alertId;
    state.incident.lastAlertTime = now();
    if (fields.state_message !== undefined) state.stateMessage = fields.state_message;
    if (fields.monitoring_tool !== undefined) state.monitoringTool = fields.monitoring_tool;
  }

  function acknowledge(state: IncidentState, by: string | null, message: string | null, manually: boolean, alertId: string | null): void {
    state.incident.currentPhase = 'ACKED';
    state.incident.transitions.push(transition('ACKED', by, message, manually, alertId));
    fireWebhooks(webhookFields(state, 'ACKNOWLEDGEMENT', { author: by ?? undefined, message: message ?? undefined }));
  }

  function resolve(state: IncidentState, by: string | null, message: string | null, manually: boolean, alertId: string | null): void {
    state.incident.currentPhase = 'RESOLVED';
    state.incident.transitions.push(transition('RESOLVED', by, message, manually, alertId));
    if (openByEntity.get(state.incident.entityId) === state) openByEntity.delete(state.incident.entityId);
    fireWebhooks(webhookFields(state, 'RECOVERY', { author: by ?? undefined, message: message ?? undefined }));
  }

  /** `fields.message_type` must already be valid. Returns the incident touched, if any. */
  function processAlert(fields: Record<string, string>, routingKey: string): { entityId: string; state: IncidentState | undefined } {
    const messageType = fields.message_type ?? '';
    const entityId = fields.entity_id !== undefined && fields.entity_id !== '' ? fields.entity_id : randomUUID();
    const alertId = randomUUID();
    const open = openByEntity.get(entityId);
    switch (messageType) {
      case 'CRITICAL':
      case 'WARNING': {
        if (!open) {
          const state = openIncident({ ...fields, entity_id: entityId }, entityId, routingKey, alertId);
          fireWebhooks(webhookFields(state, messageType));
          return { entityId, state };
        }
        open.incident.alertCount++;
        open.incident.entityState = messageType;
        noteAlert(open, fields, alertId);
        return { entityId, state: open };
      }
      case 'ACKNOWLEDGEMENT': {
        if (!open) return { entityId, state: undefined };
        noteAlert(open, fields, alertId);
        if (open.incident.currentPhase === 'UNACKED') acknowledge(open, fields.ack_author ?? null, fields.ack_msg ?? null, false, alertId);
        return { entityId, state: open };
      }
      case 'RECOVERY': {
        if (!open) return { entityId, state: undefined };
        noteAlert(open, fields, alertId);
        open.incident.entityState = 'OK';
        resolve(open, fields.ack_author ?? null, fields.ack_msg ?? null, false, alertId);
        return { entityId, state: open };
      }
      default:
        return { entityId, state: undefined };
    }
  }

  /** Why a message_type is refused, or undefined when it is fine. */
  function messageTypeProblem(messageType: string | undefined): string | undefined {
    if (messageType === undefined || messageType === '') return 'Missing required field message_type';
    if (MESSAGE_TYPES.has(messageType)) return undefined;
    if (MESSAGE_TYPES.has(messageType.toUpperCase())) {
      return `message_type must be upper case: ${JSON.stringify(messageType)} (fake On-Call: case-insensitivity is not confirmed)`;
    }
    return `Invalid message_type ${JSON.stringify(messageType)}; expected one of ${[...MESSAGE_TYPES].join(', ')}`;
  }

  // -------------------------------------------------------------------------------------------
  // Routes

  function alertRoute(call: FakeOnCallCall, badJson: boolean): Reply {
    const failure = (status: number, message: string): Reply => ({ status, body: { result: 'failure', message } });
    const match = ALERT_PATH.exec(call.path);
    if (!match) return failure(404, 'Not Found');
    if (call.method !== 'POST') return failure(405, `Method ${call.method} not allowed`);
    const key = decodeSegment(match[1] ?? '');
    const routingKey = decodeSegment(match[2] ?? '');
    if (key !== restKey) return failure(404, 'Could not find an organization for this API key');
    if (routingKey === undefined || routingKey === '') return failure(400, 'Invalid routing key');
    if (badJson) return failure(400, 'Request body is not valid JSON');
    const body = call.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return failure(400, 'Request body must be a JSON object');
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
      if (value !== null && value !== undefined) fields[name] = toText(value);
    }
    const problem = messageTypeProblem(fields.message_type);
    if (problem) return failure(400, problem);
    const { entityId } = processAlert(fields, routingKey);
    return { status: 200, body: { result: 'success', entity_id: entityId } };
  }

  function ackOrResolve(call: FakeOnCallCall, action: 'ack' | 'resolve'): Reply {
    const body = call.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, body: { message: 'Request body must be a JSON object' } };
    const { userName, incidentNames, message } = body as Record<string, unknown>;
    if (typeof userName !== 'string' || userName === '') return { status: 400, body: { message: 'userName is required and must be a string' } };
    if (!Array.isArray(incidentNames) || !incidentNames.every((name) => typeof name === 'string')) {
      return { status: 400, body: { message: 'incidentNames is required and must be an array of strings' } };
    }
    if (message !== undefined && message !== null && typeof message !== 'string') return { status: 400, body: { message: 'message must be a string' } };
    if (!users.has(userName)) return { status: 404, body: { message: `User ${userName} not found` } };
    const text = typeof message === 'string' ? message : null;

    const results = (incidentNames as string[]).map((name) => {
      const state = incidents.find((s) => s.incident.incidentNumber === name);
      if (!state) return { incidentNumber: name, entityId: '', cmdAccepted: false, message: `Incident ${name} not found` };
      const { incident } = state;
      const result = (cmdAccepted: boolean, resultMessage = '') => ({ incidentNumber: name, entityId: incident.entityId, cmdAccepted, message: resultMessage });
      if (incident.currentPhase === 'RESOLVED') return result(false, `Incident ${name} is already resolved`);
      if (action === 'ack') {
        if (incident.currentPhase === 'UNACKED') acknowledge(state, userName, text, true, null);
        return result(true);
      }
      resolve(state, userName, text, true, null);
      return result(true);
    });
    return { status: 200, body: { results } };
  }

  function onCallNow(): Reply {
    const [nowKey, userKey] = spelling === 'swagger' ? ['onCallNow', 'onCallUser'] : ['oncallNow', 'onCalluser'];
    const teamsOnCall = teams.map((team) => ({
      team: { name: team.name, slug: team.slug },
      [nowKey]: [{ escalationPolicy: { ...team.policy }, users: team.onCall.map((username) => ({ [userKey]: { username } })) }],
    }));
    return { status: 200, body: { teamsOnCall } };
  }

  function publicApi(call: FakeOnCallCall, badJson: boolean): Reply {
    const id = call.headers['x-vo-api-id'];
    const key = call.headers['x-vo-api-key'];
    if (id === undefined || key === undefined) return { status: 401, body: { message: 'Missing X-VO-Api-Id or X-VO-Api-Key header' } };
    if (id !== apiId || key !== apiKey) return { status: 403, body: { message: 'Forbidden: invalid API credentials' } };
    if (rateLimited > 0) {
      rateLimited--;
      return { status: 403, body: { message: 'API rate limit exceeded' } };
    }
    const path = call.path.replace(/\/+$/, '');
    const routes: Record<string, Record<string, () => Reply>> = {
      '/api-public/v1/incidents': { GET: () => ({ status: 200, body: { incidents: incidents.map((s) => structuredClone(s.incident)) } }) },
      '/api-public/v1/incidents/ack': { PATCH: () => ackOrResolve(call, 'ack') },
      '/api-public/v1/incidents/resolve': { PATCH: () => ackOrResolve(call, 'resolve') },
      '/api-public/v1/oncall/current': { GET: onCallNow },
    };
    const route = routes[path];
    if (!route) return { status: 404, body: { message: `Not Found: ${call.path} (fake On-Call implements only ${Object.keys(routes).join(', ')})` } };
    const handler = route[call.method];
    if (!handler) return { status: 405, body: { message: `Method ${call.method} not allowed on ${path}` } };
    if (badJson) return { status: 400, body: { message: 'Request body is not valid JSON' } };
    return handler();
  }

  function respond(call: FakeOnCallCall, rawBody: string): Reply {
    const badJson = rawBody.trim() !== '' && typeof call.body === 'string';
    if (call.path.startsWith('/integrations/')) return alertRoute(call, badJson);
    if (call.path.startsWith('/api-public/')) return publicApi(call, badJson);
    return { status: 404, body: { message: 'Not Found' } };
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { call, rawBody } = await readIncoming(req, baseUrl);
    const reply = respond(call, rawBody);
    call.status = reply.status;
    log.record(call);
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  }

  const server = createServer((req, res) => {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `fake On-Call crashed: ${message}` }));
    });
  });

  baseUrl = await listenLocal(server);

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    apiId,
    apiKey,
    restKey,
    calls,
    callsTo: log.callsTo,
    alertUrl: (routingKey) => `${baseUrl}/integrations/generic/20131114/alert/${encodeURIComponent(restKey)}/${encodeURIComponent(routingKey)}`,
    addUser,
    addTeam,
    incidents: () => incidents.map((s) => structuredClone(s.incident)),
    alert(fields) {
      const problem = messageTypeProblem(fields.message_type);
      if (problem) return Promise.reject(new Error(`fake On-Call alert(): ${problem}`));
      const { state } = processAlert({ ...fields }, fields.routing_key ?? 'default');
      return Promise.resolve(state ? structuredClone(state.incident) : null);
    },
    rateLimitNext(times = 1) {
      rateLimited += times;
    },
    setOnCallSpelling(next) {
      spelling = next;
    },
    addEscalationWebhook(target) {
      targets.push({ ...target });
    },
    async webhookResponses() {
      let count: number;
      do {
        count = deliveries.length;
        await Promise.all(deliveries);
      } while (deliveries.length !== count);
      return Promise.all(deliveries);
    },
    sendEscalationWebhook,
    close() {
      closing ??= (async () => {
        closed = true;
        for (const req of inFlight) req.destroy(new Error('fake On-Call closed'));
        await new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeAllConnections();
        });
        await Promise.all(deliveries);
      })();
      return closing;
    },
  };
}
