import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestCertificate {
  dir: string;
  /** The PEM with the private key and the certificate (what TEAMS_CERTIFICATE_PATH names). */
  bundlePath: string;
  keyPem: string;
  certPem: string;
  /** `openssl x509 -fingerprint -sha256` of the certificate, as base64url (what x5t#S256 must be). */
  x5tS256: string;
}

/**
 * A self-signed RSA certificate made with openssl in a fresh temporary directory, at test time:
 * no private key is ever committed. `days` may be 1 at least (openssl's minimum).
 */
export function makeTestCertificate(name = 'deckhand-teams-test', options: { keyType?: 'rsa' | 'ec' } = {}): TestCertificate {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deckhand-teams-cert-'));
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  const newkey = options.keyType === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
  execFileSync('openssl', ['req', '-x509', ...newkey, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'pipe' });
  const keyPem = readFileSync(keyPath, 'utf8');
  const certPem = readFileSync(certPath, 'utf8');
  const bundlePath = path.join(dir, 'bot.pem');
  writeFileSync(bundlePath, `${keyPem}${certPem}`, { mode: 0o600 });
  const fingerprint = execFileSync('openssl', ['x509', '-in', certPath, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  const hex = (/=([0-9A-F:]+)/i.exec(fingerprint)?.[1] ?? '').replace(/:/g, '');
  return { dir, bundlePath, keyPem, certPem, x5tS256: Buffer.from(hex, 'hex').toString('base64url') };
}

/** Writes `content` to a new file in the certificate's directory; returns its path. */
export function writeTestFile(cert: TestCertificate, name: string, content: string): string {
  const file = path.join(cert.dir, name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}
