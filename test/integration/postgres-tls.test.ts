import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, type Server, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { postgresTarget } from '../../src/store/postgres/connection.js';
import { openStore } from '../../src/store/open-store.js';
import { rejection } from '../unit/store/store-contract.js';

/**
 * What sslmode in DATABASE_URL does on the wire. A stand-in server speaks just enough of the
 * PostgreSQL protocol to tell: a plain startup message, or an SSLRequest answered 'S' and a TLS
 * handshake with a self-signed certificate, then the startup message inside TLS. It hangs up
 * after that, so every open fails; what matters is what the client sent and accepted.
 */

const sslRequestCode = 80877103;
const protocol3 = 196608;

let dir: string;
/** Self-signed, for localhost and 127.0.0.1; `otherCert` names only other.example. */
let cert: string;
let key: string;
let otherCert: string;
let otherKey: string;

function selfSigned(name: string, altNames: string): { cert: string; key: string } {
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${altNames}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { cert: certFile, key: keyFile };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-pg-tls-'));
  ({ cert, key } = selfSigned('localhost', 'DNS:localhost,IP:127.0.0.1'));
  ({ cert: otherCert, key: otherKey } = selfSigned('other.example', 'DNS:other.example'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The stand-in server; `seen` lists what each connection did. */
async function fakePostgres(pem: { cert: string; key: string }): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (first) => {
      const code = first.readInt32BE(4);
      if (code === protocol3) {
        seen.push('plain startup');
        socket.destroy();
        return;
      }
      if (code !== sslRequestCode) return void socket.destroy();
      seen.push('SSLRequest');
      socket.write('S');
      const secure = new TLSSocket(socket, { isServer: true, cert: readFileSync(pem.cert), key: readFileSync(pem.key) });
      secure.on('error', () => {}); // the client refusing the certificate
      secure.once('data', (startup) => {
        seen.push(startup.readInt32BE(4) === protocol3 ? 'startup inside TLS' : 'something else inside TLS');
        secure.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, seen, close: () => new Promise((r) => server.close(() => r())) };
}

async function attempt(url: string, pem = { cert, key }): Promise<{ seen: string[]; message: string }> {
  const server = await fakePostgres(pem);
  try {
    const err = await rejection(openStore(url.replace('PORT', String(server.port))));
    return { seen: server.seen, message: err.message };
  } finally {
    await server.close();
  }
}

describe('sslmode in a postgres:// DATABASE_URL', () => {
  test('disable (and no sslmode): no TLS at all', async () => {
    expect((await attempt('postgres://u:p@127.0.0.1:PORT/db?sslmode=disable')).seen).toEqual(['plain startup']);
    expect((await attempt('postgres://u:p@127.0.0.1:PORT/db')).seen).toEqual(['plain startup']);
  });

  test('require: encrypted, and any certificate is accepted (not verified, as libpq)', async () => {
    expect((await attempt('postgres://u:p@127.0.0.1:PORT/db?sslmode=require')).seen).toEqual(['SSLRequest', 'startup inside TLS']);
  });

  test('verify-full: a certificate no known CA signed is refused, with what to do', async () => {
    const { seen, message } = await attempt('postgres://u:p@localhost:PORT/db?sslmode=verify-full');
    expect(seen).toEqual(['SSLRequest']); // no startup message: nothing was sent over the refused connection
    expect(message).toMatch(/^Cannot connect to PostgreSQL at localhost:\d+\/db \(DATABASE_URL\): the server's TLS certificate was not accepted \(self[- ]signed certificate\)\. Name its CA with sslrootcert=/);
  });

  test('verify-full with sslrootcert: accepted when the certificate names the host, refused when it names another', async () => {
    expect((await attempt(`postgres://u:p@localhost:PORT/db?sslmode=verify-full&sslrootcert=${cert}`)).seen).toEqual(['SSLRequest', 'startup inside TLS']);
    expect((await attempt(`postgres://u:p@127.0.0.1:PORT/db?sslmode=verify-full&sslrootcert=${cert}`)).seen).toEqual(['SSLRequest', 'startup inside TLS']);
    const other = await attempt(`postgres://u:p@localhost:PORT/db?sslmode=verify-full&sslrootcert=${otherCert}`, { cert: otherCert, key: otherKey });
    expect(other.seen).toEqual(['SSLRequest']);
    expect(other.message).toContain("the server's TLS certificate was not accepted (Hostname/IP does not match certificate's altnames");
  });

  test('verify-ca with sslrootcert: the chain is checked, the name is not', async () => {
    const { seen } = await attempt(`postgres://u:p@localhost:PORT/db?sslmode=verify-ca&sslrootcert=${otherCert}`, { cert: otherCert, key: otherKey });
    expect(seen).toEqual(['SSLRequest', 'startup inside TLS']);
  });

  test('refused before connecting: prefer, ssl=, verify-ca without a CA, an unreadable CA file; never echoing the password', () => {
    const message = (url: string) => {
      try {
        postgresTarget(url, {});
      } catch (err) {
        expect((err as { code?: string }).code).toBe('E_CONFIG_INVALID');
        return (err as Error).message;
      }
      throw new Error(`${url} was accepted`);
    };
    expect(message('postgres://u:Sup3r@h/db?sslmode=prefer')).toContain('sslmode=prefer, which Deckhand does not support');
    expect(message('postgres://u:Sup3r@h/db?ssl=true')).toContain('say sslmode=require (encrypted) or sslmode=verify-full');
    expect(message('postgres://u:Sup3r@h/db?sslmode=verify-ca')).toContain('sslmode=verify-ca without sslrootcert');
    expect(message('postgres://u:Sup3r@h/db?sslmode=verify-full&sslrootcert=/no/such/ca.pem')).toBe("DATABASE_URL's sslrootcert names /no/such/ca.pem, which cannot be read (ENOENT).");
    expect(message('postgres://u:Sup3r@[bad/db')).toMatch(/^DATABASE_URL is not a valid postgres:\/\/ URL/);
    for (const url of ['postgres://u:Sup3r@h/db?sslmode=prefer', 'postgres://u:Sup3r@[bad/db']) expect(message(url)).not.toContain('Sup3r');
  });

  test('PGSSLMODE applies when the URL has no sslmode; the URL wins when it has one', () => {
    expect(postgresTarget('postgres://u:p@h/db', { PGSSLMODE: 'require' }).config.ssl).toEqual({ rejectUnauthorized: false });
    expect(postgresTarget('postgres://u:p@h/db?sslmode=disable', { PGSSLMODE: 'require' }).config.ssl).toBe(false);
    expect(postgresTarget('postgres://u:p@h/db', {}).config.ssl).toBe(false);
  });
});
