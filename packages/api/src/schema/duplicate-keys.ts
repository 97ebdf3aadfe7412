/**
 * Duplicate keys in a JSON text, which JSON.parse silently collapses but Kubernetes' strict
 * decoder reports (`duplicate field "metadata.name"`). One pass over the text with an explicit
 * stack, so deep nesting cannot overflow the call stack; malformed text stops the scan quietly
 * (the parser reports it).
 */

interface Frame {
  /** Keys seen so far in an object; undefined for an array. */
  keys: Set<string> | undefined;
  /** The key or index this frame's value sits under in its parent. */
  segment: string;
  index: number;
  /** The key whose value is being read (objects). */
  key: string;
}

/** Paths (`spec.containers[0].name`) of every key that repeats within its object, in text order. */
export function findDuplicateKeys(json: string): string[] {
  const out: string[] = [];
  const stack: Frame[] = [];
  const n = json.length;
  let i = 0;
  let segment = '';

  const skipSpace = (): void => {
    while (i < n) {
      const c = json.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      i++;
    }
  };
  /** Reads a string starting at the opening quote; returns its value, or undefined if malformed. */
  const readString = (): string | undefined => {
    const start = i;
    i++;
    let escaped = false;
    while (i < n) {
      const c = json.charCodeAt(i);
      if (c === 0x5c) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c === 0x22) {
        i++;
        if (!escaped) return json.slice(start + 1, i - 1);
        try {
          return JSON.parse(json.slice(start, i)) as string;
        } catch {
          return undefined;
        }
      }
      i++;
    }
    return undefined;
  };
  const pathOf = (key: string): string => {
    let p = '';
    for (let k = 1; k < stack.length; k++) p = join(p, stack[k]!.segment);
    return join(p, key);
  };

  // values are read in a loop; after each value, the enclosing container decides what comes next
  for (;;) {
    skipSpace();
    if (i >= n) return out;
    const c = json[i];
    if (c === '{' || c === '[') {
      i++;
      const frame: Frame = { keys: c === '{' ? new Set() : undefined, segment, index: 0, key: '' };
      stack.push(frame);
      skipSpace();
      if (json[i] === (c === '{' ? '}' : ']')) {
        i++;
        stack.pop();
      } else if (!beginElement(frame)) {
        return out;
      } else {
        continue;
      }
    } else if (c === '"') {
      if (readString() === undefined) return out;
    } else {
      while (i < n && !',]}: \n\r\t'.includes(json[i]!)) i++;
    }
    // a value ended: move to the next element of the enclosing containers
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return out;
      skipSpace();
      const d = json[i];
      if (d === ',') {
        i++;
        if (top.keys === undefined) top.index++;
        if (!beginElement(top)) return out;
        break;
      }
      if (d === (top.keys ? '}' : ']')) {
        i++;
        stack.pop();
        continue;
      }
      return out;
    }
  }

  /** Positions `i` at the next value of `frame`, reading the key of an object member first. */
  function beginElement(frame: Frame): boolean {
    if (frame.keys === undefined) {
      segment = `[${frame.index}]`;
      return true;
    }
    skipSpace();
    if (json[i] !== '"') return false;
    const key = readString();
    if (key === undefined) return false;
    if (frame.keys.has(key)) out.push(pathOf(key));
    else frame.keys.add(key);
    frame.key = key;
    segment = key;
    skipSpace();
    if (json[i] !== ':') return false;
    i++;
    return true;
  }
}

function join(path: string, segment: string): string {
  if (path === '') return segment;
  return segment.startsWith('[') ? path + segment : `${path}.${segment}`;
}
