/** JWT-shaped strings for tests that only need the shape (TokenFile, fetch wrapper), not a signature. */
import { randomBytes } from 'node:crypto';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export function fakeJwt(n: number | string, alg: 'RS256' | 'ES256' = 'RS256'): string {
  const sig = randomBytes(alg === 'ES256' ? 64 : 256).toString('base64url');
  return `${b64({ alg, kid: 'test' })}.${b64({ iss: 'https://issuer.test', sub: `system:serviceaccount:ns:sa`, n })}.${sig}`;
}
