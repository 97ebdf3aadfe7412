/**
 * First-start bootstrap of the data directory: a CA, the serving certificate, the service
 * account signing key, the admin client certificate and `admin.kubeconfig`. Later starts reuse
 * them (the serving certificate is re-issued when its SANs change or it nears expiry).
 *
 *   <data-dir>/pki/ca.crt ca.key apiserver.crt apiserver.key sa.key sa.pub admin.crt admin.key
 *   <data-dir>/admin.kubeconfig
 */
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write.js';
import { createCA, describeCertificate, issueCertificate, signedBy, withFinalNewline, type KeyPairPem } from './certs.js';
import { kubeconfigYaml } from './kubeconfig.js';

export const DEFAULT_SERVICE_DNS = [
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];
export const DEFAULT_SERVICE_IPS = ['127.0.0.1', '::1'];

export interface PkiPaths {
  dir: string;
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  saKey: string;
  saPub: string;
  adminCert: string;
  adminKey: string;
  adminKubeconfig: string;
}

export function pkiPaths(dataDir: string): PkiPaths {
  const dir = join(dataDir, 'pki');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    adminKubeconfig: join(dataDir, 'admin.kubeconfig'),
  };
}

export interface Pki {
  paths: PkiPaths;
  ca: KeyPairPem;
  serving: KeyPairPem;
  /** The bootstrapped service account signing key (PEM, PKCS#1). */
  saKeyPem: string;
  admin: KeyPairPem;
  /** What bootstrap created on this start (for the log). */
  created: string[];
}

function normalizeIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]`).hostname.replace(/^\[|\]$/g, '') : ip;
}

function readPair(cert: string, key: string): KeyPairPem | undefined {
  if (!existsSync(cert) || !existsSync(key)) return undefined;
  // certificates written before they ended with a newline get one (kube-root-ca.crt is built from them)
  return { certPem: withFinalNewline(readFileSync(cert, 'utf8')), keyPem: readFileSync(key, 'utf8') };
}

function writePair(cert: string, key: string, pair: KeyPairPem): void {
  atomicWriteFileSync(key, pair.keyPem, 0o600);
  atomicWriteFileSync(cert, pair.certPem, 0o644);
}

export interface BootstrapOptions {
  dataDir: string;
  /** Extra serving certificate SANs (`--tls-san`): DNS names or IP addresses. */
  tlsSans?: string[];
}

/** The SANs the serving certificate must carry. */
export function servingSans(tlsSans: string[] = []): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = [...DEFAULT_SERVICE_DNS];
  const ipAddresses = [...DEFAULT_SERVICE_IPS];
  for (const san of tlsSans) {
    if (isIP(san)) ipAddresses.push(normalizeIp(san));
    else dnsNames.push(san);
  }
  return { dnsNames: [...new Set(dnsNames)], ipAddresses: [...new Set(ipAddresses.map(normalizeIp))] };
}

function servingCertFits(pair: KeyPairPem, ca: KeyPairPem, want: { dnsNames: string[]; ipAddresses: string[] }): boolean {
  if (!signedBy(pair.certPem, ca.certPem)) return false;
  const have = describeCertificate(pair.certPem);
  if (have.notAfter.getTime() - Date.now() < 30 * 24 * 3600 * 1000) return false;
  const haveIps = new Set(have.ipAddresses.map(normalizeIp));
  return want.dnsNames.every((d) => have.dnsNames.includes(d)) && want.ipAddresses.every((ip) => haveIps.has(ip));
}

export async function bootstrapPki(opts: BootstrapOptions): Promise<Pki> {
  const paths = pkiPaths(opts.dataDir);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];

  let ca = readPair(paths.caCert, paths.caKey);
  if (!ca) {
    ca = await createCA('boundtoken-ca');
    writePair(paths.caCert, paths.caKey, ca);
    created.push('certificate authority');
  }

  const sans = servingSans(opts.tlsSans);
  let serving = readPair(paths.servingCert, paths.servingKey);
  if (!serving || !servingCertFits(serving, ca, sans)) {
    serving = await issueCertificate(ca, { commonName: 'kube-apiserver', ...sans, server: true });
    writePair(paths.servingCert, paths.servingKey, serving);
    created.push('serving certificate');
  }

  let saKeyPem: string;
  if (existsSync(paths.saKey)) {
    saKeyPem = readFileSync(paths.saKey, 'utf8');
  } else {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    saKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    atomicWriteFileSync(paths.saKey, saKeyPem, 0o600);
    atomicWriteFileSync(paths.saPub, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(), 0o644);
    created.push('service account signing key');
  }

  let admin = readPair(paths.adminCert, paths.adminKey);
  if (!admin || !signedBy(admin.certPem, ca.certPem)) {
    admin = await issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], client: true });
    writePair(paths.adminCert, paths.adminKey, admin);
    created.push('admin client certificate');
  }
  return { paths, ca, serving, saKeyPem, admin, created };
}

/** Writes `admin.kubeconfig` for the server's current address. */
export function writeAdminKubeconfig(pki: Pki, server: string): string {
  atomicWriteFileSync(
    pki.paths.adminKubeconfig,
    kubeconfigYaml({ server, caPem: pki.ca.certPem, user: 'admin', clientCertPem: pki.admin.certPem, clientKeyPem: pki.admin.keyPem }),
    0o600,
  );
  return pki.paths.adminKubeconfig;
}

export interface MintOptions {
  dataDir: string;
  user: string;
  groups?: string[];
  server: string;
  out: string;
  days?: number;
}

/** `boundtoken kubeconfig`: a client-certificate kubeconfig signed by the data dir's CA. */
export async function mintKubeconfig(o: MintOptions): Promise<void> {
  const paths = pkiPaths(o.dataDir);
  const ca = readPair(paths.caCert, paths.caKey);
  if (!ca) throw new Error(`no certificate authority in ${paths.dir} (start the server once with --data-dir ${o.dataDir})`);
  mkdirSync(dirname(o.out), { recursive: true, mode: 0o700 });
  const pair = await issueCertificate(ca, {
    commonName: o.user,
    organizations: o.groups ?? [],
    client: true,
    ...(o.days !== undefined ? { days: o.days } : {}),
  });
  atomicWriteFileSync(o.out, kubeconfigYaml({ server: o.server, caPem: ca.certPem, user: o.user, clientCertPem: pair.certPem, clientKeyPem: pair.keyPem }), 0o600);
}
