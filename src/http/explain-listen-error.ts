import { DeckhandError, ErrorCode } from '../core/errors.js';

/** Why the HTTP listener could not start, as a message that says which variable to change. */
export function explainListenError(err: unknown, port: number, host: string): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'EADDRINUSE') return new DeckhandError(ErrorCode.EnvInvalid, `port ${port} is in use on ${host} (another Deckhand, or another program): set PORT to a free port, or PORT=0 to pick one.`, { variable: 'PORT' });
  if (code === 'EACCES') return new DeckhandError(ErrorCode.EnvInvalid, `port ${port} on ${host} needs privileges this process does not have: set PORT to 1024 or above.`, { variable: 'PORT' });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new DeckhandError(ErrorCode.EnvInvalid, `HOST=${host} is not an address of this machine: set HOST to one of its addresses, 127.0.0.1 or 0.0.0.0.`, { variable: 'HOST' });
  return err;
}
