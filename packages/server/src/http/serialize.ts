/**
 * The JSON of objects from the informer caches, serialised once and shared by every GET, list and
 * watch event that sends them — a pod update watched by 100 clients is stringified once, not 100
 * times, and a pod read 10,000 times is encoded to bytes once. Cached objects are never changed
 * in place (every write replaces them with a new object), so an object's JSON stays right for as
 * long as the object lives; the WeakMap lets them go together. Only for objects that are not
 * changed after they are sent.
 */
interface Serialized {
  json: string;
  /** The UTF-8 bytes of `json`, once an answer has needed them. */
  bytes?: Buffer;
}

const serialized = new WeakMap<object, Serialized>();

function entry(obj: object): Serialized {
  let s = serialized.get(obj);
  if (s === undefined) {
    s = { json: JSON.stringify(obj) };
    serialized.set(obj, s);
  }
  return s;
}

export function objectJson(obj: object): string {
  return entry(obj).json;
}

/** The JSON of `obj` as bytes, for answering with the object alone. */
export function objectBytes(obj: object): Buffer {
  const s = entry(obj);
  return (s.bytes ??= Buffer.from(s.json));
}
