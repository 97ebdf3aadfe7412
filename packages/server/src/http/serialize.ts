/**
 * The JSON of objects from the informer caches, serialised once and shared by every GET, list and
 * watch event that sends them — a pod update watched by 100 clients is stringified once, not 100
 * times. Cached objects are never changed in place (every write replaces them with a new object),
 * so an object's JSON stays right for as long as the object lives; the WeakMap lets them go
 * together. Only for objects that are not changed after they are sent.
 */
const serialized = new WeakMap<object, string>();

export function objectJson(obj: object): string {
  let json = serialized.get(obj);
  if (json === undefined) {
    json = JSON.stringify(obj);
    serialized.set(obj, json);
  }
  return json;
}
