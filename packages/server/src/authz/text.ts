/** Go-compatible renderings used in Kubernetes messages (utilerrors aggregates). */

/** utilerrors.NewAggregate(...).Error(): '' for none, bare for one distinct message, `[a, b]` otherwise. */
export function aggregateMessages(messages: readonly string[]): string {
  const seen = [...new Set(messages)];
  if (seen.length === 0) return '';
  if (seen.length === 1) return seen[0]!;
  return `[${seen.join(', ')}]`;
}
