import { DeckhandError, ErrorCode } from '../core/errors.js';

export interface OnCallIncident {
  incidentNumber: string;
  currentPhase: string;
  entityId: string;
  entityDisplayName?: string;
}

export interface OnCallNow {
  team: { name: string; slug: string };
  policies: Array<{ name: string; slug: string; users: string[] }>;
}

/** triggered / acknowledged / resolved, from either vocabulary the API is seen to use (UNACKED, ACKED, RESOLVED). */
export function normalisePhase(phase: string): 'triggered' | 'acknowledged' | 'resolved' | null {
  const p = phase.toLowerCase();
  if (p === 'triggered' || p === 'unacked') return 'triggered';
  if (p === 'acknowledged' || p === 'acked') return 'acknowledged';
  if (p === 'resolved') return 'resolved';
  return null;
}

/**
 * The Splunk On-Call public API (X-VO-Api-Id / X-VO-Api-Key): incidents, acknowledge, resolve,
 * who is on call. 403 means a bad key or the rate limit; both are reported as such.
 */
export class OnCallClient {
  private readonly base: string;

  constructor(private readonly options: { apiUrl: string; apiId: string; apiKey: string; timeoutMs?: number }) {
    this.base = options.apiUrl.replace(/\/+$/, '');
  }

  async incidents(): Promise<OnCallIncident[]> {
    const body = await this.send<{ incidents?: OnCallIncident[] }>('GET', '/api-public/v1/incidents');
    return body.incidents ?? [];
  }

  /** Acknowledges or resolves incidents as `userName`; one result per incident. */
  async act(action: 'ack' | 'resolve', userName: string, incidentNames: string[], message?: string) {
    const body = await this.send<{ results?: Array<{ incidentNumber: string; cmdAccepted: boolean; message?: string }> }>('PATCH', `/api-public/v1/incidents/${action}`, {
      userName,
      incidentNames,
      ...(message ? { message } : {}),
    });
    return body.results ?? [];
  }

  /** Who is on call now, per team; accepts both spellings seen in the wild (oncallNow/onCallNow, onCalluser/onCallUser). */
  async onCallNow(): Promise<OnCallNow[]> {
    type User = { onCalluser?: { username?: string }; onCallUser?: { username?: string } };
    type Entry = { escalationPolicy?: { name?: string; slug?: string }; users?: User[] };
    const body = await this.send<{ teamsOnCall?: Array<{ team?: { name?: string; slug?: string }; oncallNow?: Entry[]; onCallNow?: Entry[] }> }>('GET', '/api-public/v1/oncall/current');
    return (body.teamsOnCall ?? []).map((t) => ({
      team: { name: t.team?.name ?? '?', slug: t.team?.slug ?? '?' },
      policies: (t.oncallNow ?? t.onCallNow ?? []).map((entry) => ({
        name: entry.escalationPolicy?.name ?? '?',
        slug: entry.escalationPolicy?.slug ?? '?',
        users: (entry.users ?? []).map((u) => (u.onCalluser ?? u.onCallUser)?.username).filter((u): u is string => Boolean(u)),
      })),
    }));
  }

  private async send<T>(method: 'GET' | 'PATCH', path: string, body?: unknown): Promise<T> {
    let response;
    try {
      // undici is loaded on the first call, not at start (most instances never call the on-call API).
      const { request } = await import('undici');
      response = await request(`${this.base}${path}`, {
        method,
        headers: {
          'x-vo-api-id': this.options.apiId,
          'x-vo-api-key': this.options.apiKey,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        headersTimeout: this.options.timeoutMs ?? 15_000,
        bodyTimeout: this.options.timeoutMs ?? 15_000,
      });
    } catch (err) {
      throw new DeckhandError(ErrorCode.Upstream, `Splunk On-Call did not answer (${(err as Error).message}).`, { status: 0 }, { cause: err });
    }
    const text = await response.body.text();
    if (response.statusCode >= 200 && response.statusCode < 300) return (text ? JSON.parse(text) : {}) as T;
    let detail = text.slice(0, 200);
    try {
      const parsed = JSON.parse(text) as { message?: string; error?: string };
      detail = parsed.message ?? parsed.error ?? detail;
    } catch {
      // keep the text
    }
    const status = response.statusCode;
    const why =
      status === 401 || status === 403
        ? `refused Deckhand's API credentials or hit its rate limit (${status}${detail ? `: ${detail}` : ''}); check SPLUNK_ONCALL_API_ID / SPLUNK_ONCALL_API_KEY, or try again in a minute`
        : status === 404
          ? `does not know that (404${detail ? `: ${detail}` : ''})`
          : `answered ${status}${detail ? `: ${detail}` : ''}`;
    throw new DeckhandError(ErrorCode.Upstream, `Splunk On-Call ${why}.`, { status });
  }
}
