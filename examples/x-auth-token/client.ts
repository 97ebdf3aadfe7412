/**
 * The X-Auth-Token variant (after jpweber/tokenrequest-demo): the client sends its projected token
 * in an `X-Auth-Token` header instead of `Authorization: Bearer`. Here with the undici-free path:
 * `withToken(tokenFile, { header: 'x-auth-token' })`.
 *
 *   TOKEN_FILE (default /var/run/secrets/tokens/istio-token), SERVER_URL (default http://127.0.0.1:8081/), COUNT (default 1)
 */
import { TokenFile, withToken } from '@boundtoken/client';

const token = await TokenFile.open(process.env.TOKEN_FILE ?? '/var/run/secrets/tokens/istio-token');
const send = withToken(token, { header: 'x-auth-token' });
const count = Number(process.env.COUNT ?? 1);
let ok = true;
for (let i = 0; i < count; i++) {
  const res = await send(process.env.SERVER_URL ?? 'http://127.0.0.1:8081/');
  console.log(res.status, await res.text());
  ok &&= res.ok;
}
token.close();
process.exitCode = ok ? 0 : 1;
