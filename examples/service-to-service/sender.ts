/**
 * The sending workload: reads its projected `istio-token` (kept fresh by the node agent) and calls
 * the receiver with it on every request. A rotated token is used from the next request on.
 *
 *   TOKEN_FILE    the projected token (default /var/run/secrets/tokens/istio-token)
 *   RECEIVER_URL  where to send (default http://127.0.0.1:8080/)
 *   TOKEN_HEADER  authorization (default, as "Bearer <token>") or e.g. x-auth-token (bare token)
 *   INTERVAL_MS   pause between requests (default 5000); COUNT: how many (default 0 = forever)
 */
import { TokenFile, withToken } from '@boundtoken/client';

const tokenPath = process.env.TOKEN_FILE ?? '/var/run/secrets/tokens/istio-token';
const receiver = process.env.RECEIVER_URL ?? 'http://127.0.0.1:8080/';
const header = process.env.TOKEN_HEADER ?? 'authorization';
const interval = Number(process.env.INTERVAL_MS ?? 5000);
const count = Number(process.env.COUNT ?? 0);

const token = await TokenFile.open(tokenPath);
token.onChange(() => console.log(`token rotated (${new Date().toISOString()})`));
token.onError((err) => console.error(`keeping the last good token: ${err.message}`));
const send = withToken(token, { header });

let failures = 0;
for (let i = 1; count === 0 || i <= count; i++) {
  try {
    const res = await send(receiver);
    const body = await res.text();
    console.log(`${res.status} ${body}`);
    if (!res.ok) failures++;
  } catch (err) {
    failures++;
    console.error(`request failed: ${(err as Error).message}`);
  }
  if (count === 0 || i < count) await new Promise((r) => setTimeout(r, interval));
}
token.close();
process.exitCode = failures ? 1 : 0;
