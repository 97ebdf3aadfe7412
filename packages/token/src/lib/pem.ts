/**
 * PEM block decoding with the rules of Go's `encoding/pem.Decode`, so a key file is read block by
 * block exactly as kube-apiserver reads it: text outside blocks is ignored, a block whose END line
 * does not match or whose base64 is invalid is skipped, `Key: value` headers are allowed.
 */

export interface PemBlock {
  type: string;
  headers: Record<string, string>;
  bytes: Buffer;
}

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';

/** Returns the line up to '\n' with trailing spaces, tabs and '\r' removed, and the rest after it. */
function getLine(data: string): [string, string] {
  const i = data.indexOf('\n');
  let line: string;
  let rest: string;
  if (i < 0) {
    line = data;
    rest = '';
  } else {
    line = data.slice(0, i);
    rest = data.slice(i + 1);
  }
  let j = line.length;
  while (j > 0) {
    const c = line.charCodeAt(j - 1);
    if (c === 0x20 || c === 0x09 || c === 0x0d) j--;
    else break;
  }
  return [line.slice(0, j), rest];
}

const STD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Go's base64.StdEncoding: padding required, '\r' and '\n' ignored. */
function decodeStdBase64(text: string): Buffer | undefined {
  const s = text.replace(/[\r\n]/g, '');
  if (s.length % 4 !== 0 || !STD_BASE64.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** Decodes the next PEM block of `data` (a latin1 string: one char per byte). */
function decodeOne(data: string): [PemBlock | undefined, string] {
  let rest = data;
  for (;;) {
    if (rest.startsWith(BEGIN)) {
      rest = rest.slice(BEGIN.length);
    } else {
      const i = rest.indexOf('\n' + BEGIN);
      if (i < 0) return [undefined, data];
      rest = rest.slice(i + 1 + BEGIN.length);
    }
    let typeLine: string;
    [typeLine, rest] = getLine(rest);
    if (!typeLine.endsWith(DASHES)) continue;
    const type = typeLine.slice(0, typeLine.length - DASHES.length);
    const headers: Record<string, string> = {};
    let headerCount = 0;
    let truncated = false;
    for (;;) {
      if (rest.length === 0) {
        truncated = true;
        break;
      }
      const [line, next] = getLine(rest);
      const colon = line.indexOf(':');
      if (colon < 0) break;
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      headerCount++;
      rest = next;
    }
    if (truncated) return [undefined, data];
    let endIndex: number;
    let endTrailerIndex: number;
    if (headerCount === 0 && rest.startsWith(END)) {
      endIndex = 0;
      endTrailerIndex = END.length;
    } else {
      endIndex = rest.indexOf('\n' + END);
      endTrailerIndex = endIndex + 1 + END.length;
    }
    if (endIndex < 0) continue;
    const trailerLen = type.length + DASHES.length;
    const endTrailer = rest.slice(endTrailerIndex, endTrailerIndex + trailerLen);
    if (endTrailer.length < trailerLen) continue;
    if (!endTrailer.startsWith(type) || !endTrailer.endsWith(DASHES)) continue;
    const [restOfEndLine] = getLine(rest.slice(endTrailerIndex + trailerLen));
    if (restOfEndLine.length !== 0) continue;
    const bytes = decodeStdBase64(rest.slice(0, endIndex).replace(/[ \t]/g, ''));
    if (bytes === undefined) continue;
    const [, after] = getLine(rest.slice(endTrailerIndex));
    return [{ type, headers, bytes }, after];
  }
}

/** All PEM blocks of `input`, in order, decoded as Go's `pem.Decode` would in a loop. */
export function decodePemBlocks(input: string | Buffer): PemBlock[] {
  let data = Buffer.isBuffer(input) ? input.toString('latin1') : Buffer.from(input, 'utf8').toString('latin1');
  const blocks: PemBlock[] = [];
  for (;;) {
    const [block, rest] = decodeOne(data);
    if (block === undefined) return blocks;
    blocks.push(block);
    data = rest;
  }
}

/** PEM-encodes `der` with 64-character lines, as Go's `pem.EncodeToMemory` does. */
export function encodePem(type: string, der: Buffer): string {
  const b64 = der.toString('base64');
  let out = `-----BEGIN ${type}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += b64.slice(i, i + 64) + '\n';
  return out + `-----END ${type}-----\n`;
}
