/** Go-compatible renderings used in Kubernetes messages (utilerrors aggregates, `%q`). */

/** utilerrors.NewAggregate(...).Error(): '' for none, bare for one distinct message, `[a, b]` otherwise. */
export function aggregateMessages(messages: readonly string[]): string {
  const seen = [...new Set(messages)];
  if (seen.length === 0) return '';
  if (seen.length === 1) return seen[0]!;
  return `[${seen.join(', ')}]`;
}

/** Go's `%q` of a string (strconv.Quote), close enough for the printable text we render. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}
