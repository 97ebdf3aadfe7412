/**
 * ObjectMeta as Go's encoding/json writes it, from the same struct description the protobuf
 * mapping uses: fields in struct order, empty ones left out (omitempty, unset pointers), map keys
 * in Go's order — and a zero `creationTimestamp` written `null`, as metav1.Time marshals it.
 */
import type { ObjectMeta } from '../objects.js';
import { messageFromJson, messageToJson } from './json.js';
import { lookupMessage, type MessageInfo } from './registry.js';

let info: MessageInfo | undefined;

/** Throws TypeError for a field ObjectMeta does not have, or a value of the wrong type. */
export function objectMetaJson(meta: ObjectMeta): Record<string, unknown> {
  info ??= lookupMessage('meta.v1.ObjectMeta');
  const json = messageToJson(info, messageFromJson(info, meta as Record<string, unknown>, 'metadata'));
  if (json.creationTimestamp !== undefined) return json;
  const out: Record<string, unknown> = {};
  for (const f of info.fields) {
    if (f.name in json) out[f.name] = json[f.name];
    else if (f.name === 'creationTimestamp') out.creationTimestamp = null;
  }
  return out;
}
