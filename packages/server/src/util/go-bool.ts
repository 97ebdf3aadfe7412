/** Go's strconv.ParseBool, as pflag reads a bool flag and Kubernetes reads a bool annotation. */

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** true or false, or undefined for a string Go does not parse (`invalid syntax`). */
export function parseGoBool(value: string): boolean | undefined {
  return TRUE.has(value) ? true : FALSE.has(value) ? false : undefined;
}
