import { DeckhandError, ErrorCode } from '../../core/errors.js';
import type { NewRelease, Release } from '../../core/model.js';
import { clampLimit, listLimits } from '../sqlite/query.js';
import { requestKeyUsed } from '../request-key.js';
import type { Sql } from './db.js';
import { type ReleaseRow, toRelease } from './rows.js';

/** Releases of the PostgreSQL store. */

export async function createRelease(sql: Sql, input: NewRelease): Promise<Release> {
  // ON CONFLICT waits for a concurrent insert of the same (app, version) to commit or roll back,
  // so exactly one of two racing creators gets the release and the other E_RELEASE_EXISTS.
  // No conflict target: a used request key and an existing (app, version) both insert nothing.
  const inserted = await sql.row<ReleaseRow>(
    `INSERT INTO releases (app, version, notes, created_by, created_at, request_key, request_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT DO NOTHING RETURNING *`,
    [input.app, input.version, input.notes ?? null, input.createdBy, input.createdAt, input.request?.key ?? null, input.request?.hash ?? null],
  );
  if (inserted !== undefined) return toRelease(inserted);
  const first = input.request ? await findReleaseByRequest(sql, input.request.key) : null;
  if (first) throw requestKeyUsed(input.request!.key, { release: first.release });
  const existing = await getRelease(sql, input.app, input.version);
  throw new DeckhandError(ErrorCode.ReleaseExists, `Release ${input.version} of ${input.app} already exists.`, { release: existing });
}

export async function findReleaseByRequest(sql: Sql, key: string): Promise<{ release: Release; hash: string } | null> {
  const row = await sql.row<ReleaseRow & { request_hash: string }>('SELECT * FROM releases WHERE request_key = $1', [key]);
  return row === undefined ? null : { release: toRelease(row), hash: row.request_hash };
}

export async function getRelease(sql: Sql, app: string, version: string): Promise<Release | null> {
  const row = await sql.row<ReleaseRow>('SELECT * FROM releases WHERE app = $1 AND version = $2', [app, version]);
  return row === undefined ? null : toRelease(row);
}

export async function listReleases(sql: Sql, app: string, limit?: number): Promise<Release[]> {
  const rows = await sql.rows<ReleaseRow>('SELECT * FROM releases WHERE app = $1 ORDER BY id DESC LIMIT $2', [app, clampLimit(limit, listLimits.releases)]);
  return rows.map(toRelease);
}
