import type { Clock } from '../core/clock.js';
import type { Store } from '../store/types.js';

/**
 * What Deckhand's own records say about a GitHub deployment:
 * - `created`: Deckhand created it (an auto_deploy rule) and GitHub answered with its id;
 * - `creating`: its request key belongs to a create call that has not answered yet;
 * - `abandoned`: its request key belongs to a create call that failed (and was retried);
 * - `unknown`: nothing, whatever its payload says.
 */
export type Provenance = 'created' | 'creating' | 'abandoned' | 'unknown';

const CREATING = 'github-own-creating';
const SETTLED = 'github-own-settled';
const ABANDONED = 'github-own-abandoned';
const CREATED = 'github-own-created';
const REFUSED = 'github-own-refused';

/**
 * The GitHub deployments Deckhand created itself, remembered on Deckhand's side (seen keys). A
 * deployment's payload is written by whoever creates it, so `{deckhand: {merged_by}}` proves
 * nothing. Each create call has a request key (also put in the payload) recorded as "creating"
 * before the call and "settled" after it, and the deployment's id is recorded when GitHub answers.
 * GitHub can send the `deployment` webhook before Deckhand reads that answer: the event then finds
 * its key still creating and waits (its job retries) instead of guessing.
 */
export class OwnDeployments {
  constructor(private readonly deps: { store: Store; clock: Clock }) {}

  /** Before the create call. */
  async creating(repository: string, key: string): Promise<void> {
    await this.mark(CREATING, this.key(repository, key));
  }

  /** After the create call answered: with the new deployment's id, or null when GitHub made none (409, 422, 202). */
  async settled(repository: string, key: string, id: number | null): Promise<void> {
    if (id !== null) await this.mark(CREATED, this.key(repository, id));
    await this.mark(SETTLED, this.key(repository, key));
  }

  /** The create call failed (network, 5xx): whatever GitHub may have made with this key is not run. */
  async abandoned(repository: string, key: string): Promise<void> {
    await this.mark(ABANDONED, this.key(repository, key));
    await this.mark(SETTLED, this.key(repository, key));
  }

  /** For a retry: an earlier attempt's call that never settled (the process stopped during it) is abandoned. */
  async abandonUnsettled(repository: string, key: string): Promise<void> {
    const k = this.key(repository, key);
    if ((await this.deps.store.isSeen(CREATING, k)) && !(await this.deps.store.isSeen(SETTLED, k))) await this.abandoned(repository, key);
  }

  async provenance(repository: string, id: number, key: unknown): Promise<Provenance> {
    const { store } = this.deps;
    if (await store.isSeen(CREATED, this.key(repository, id))) return 'created';
    if (typeof key !== 'string' || key === '') return 'unknown';
    const k = this.key(repository, key);
    if (await store.isSeen(ABANDONED, k)) return 'abandoned';
    // A key someone copied into a deployment of their own is still settled without that id: unknown.
    if ((await store.isSeen(CREATING, k)) && !(await store.isSeen(SETTLED, k))) return 'creating';
    return 'unknown';
  }

  /** Deckhand refused to run it and said so in a status: it is not run later, and that status is not mirrored. */
  async refused(repository: string, id: number): Promise<void> {
    await this.mark(REFUSED, this.key(repository, id));
  }

  async isRefused(repository: string, id: number): Promise<boolean> {
    return this.deps.store.isSeen(REFUSED, this.key(repository, id));
  }

  private key(repository: string, part: string | number): string {
    // GitHub treats owner/name case-insensitively; events and config may spell it differently.
    return `${repository.toLowerCase()}#${part}`;
  }

  private async mark(scope: string, key: string): Promise<void> {
    await this.deps.store.markSeen(scope, key, this.deps.clock.now().toISOString());
  }
}
