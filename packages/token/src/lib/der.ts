/**
 * Just enough DER to tell key structures apart before handing them to `node:crypto`, whose
 * decoders are more lenient than Go's (OpenSSL reads a PKCS#8 EC key when asked for SEC1, for
 * example) — keyutil's rules depend on the exact structure.
 */

export interface DerElement {
  tag: number;
  /** Offset of the contents in the original buffer. */
  start: number;
  end: number;
}

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;

/** Reads one element at `offset`, or undefined if the encoding is invalid or runs past `limit`. */
export function readElement(buf: Buffer, offset: number, limit = buf.length): DerElement | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers never occur in key structures
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || pos + n > limit) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    pos += n;
    if (len < 0x80 || buf[offset + 2] === 0) return undefined; // DER: minimal length encoding
  }
  if (pos + len > limit) return undefined;
  return { tag, start: pos, end: pos + len };
}

/** The children of a constructed element, or undefined if they do not exactly fill it. */
export function readChildren(buf: Buffer, el: DerElement): DerElement[] | undefined {
  const out: DerElement[] = [];
  let pos = el.start;
  while (pos < el.end) {
    const child = readElement(buf, pos, el.end);
    if (!child) return undefined;
    out.push(child);
    pos = child.end;
  }
  return out;
}

export type KeyStructure = 'pkcs1-private' | 'pkcs8-private' | 'sec1-private' | 'spki' | 'certificate';

/** Classifies a DER blob by its top-level shape; trailing data makes it unrecognised (as in Go). */
export function classifyKeyDer(der: Buffer): KeyStructure | undefined {
  const top = readElement(der, 0);
  if (!top || top.tag !== TAG_SEQUENCE || top.end !== der.length) return undefined;
  const c = readChildren(der, top);
  if (!c || c.length < 2) return undefined;
  const [a, b] = [c[0]!.tag, c[1]!.tag];
  if (a === TAG_INTEGER && b === TAG_INTEGER && c.length >= 9) return 'pkcs1-private';
  if (a === TAG_INTEGER && b === TAG_SEQUENCE && c.length >= 3 && c[2]!.tag === TAG_OCTET_STRING) return 'pkcs8-private';
  if (a === TAG_INTEGER && b === TAG_OCTET_STRING) return 'sec1-private';
  if (a === TAG_SEQUENCE && b === TAG_BIT_STRING && c.length === 2) return 'spki';
  if (a === TAG_SEQUENCE && b === TAG_SEQUENCE && c.length === 3 && c[2]!.tag === TAG_BIT_STRING) return 'certificate';
  return undefined;
}

/** The algorithm OID (as hex of its contents) of a PKCS#8 or SPKI structure. */
export function algorithmOidHex(der: Buffer, structure: 'pkcs8-private' | 'spki'): string | undefined {
  const top = readElement(der, 0);
  if (!top) return undefined;
  const c = readChildren(der, top);
  const algId = structure === 'spki' ? c?.[0] : c?.[1];
  if (!algId) return undefined;
  const oid = readElement(der, algId.start, algId.end);
  if (!oid || oid.tag !== TAG_OID) return undefined;
  return der.subarray(oid.start, oid.end).toString('hex');
}

/** The first byte of the public point / key bits of an SPKI (0x04 = uncompressed EC point). */
export function spkiPointFormat(spki: Buffer): number | undefined {
  const top = readElement(spki, 0);
  if (!top) return undefined;
  const bits = readChildren(spki, top)?.[1];
  if (!bits || bits.tag !== TAG_BIT_STRING || bits.end - bits.start < 2) return undefined;
  return spki[bits.start + 1]; // skip the "unused bits" byte
}

export const OID_RSA_ENCRYPTION = '2a864886f70d010101';
export const OID_EC_PUBLIC_KEY = '2a8648ce3d0201';
export const OID_ED25519 = '2b6570';
export const OID_X25519 = '2b656e';
