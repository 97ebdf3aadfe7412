/**
 * Watch streams: `{"type","object"}` JSON lines over a chunked response, from the informer
 * cache's event stream. Serves resourceVersion semantics (replay, "start at most recent" with
 * synthetic ADDED events, 410 Expired as an ERROR event), bookmarks, `timeoutSeconds`, Table
 * events for `kubectl get -w`, and drops watchers that stop reading.
 */
import { badRequest, isStatusError, type KubeObject } from '@boundtoken/api';
import type { Registry } from '../registry/registry.js';
import type { SelectorRequirement } from '../auth/types.js';
import type { ResourceDef } from '../registry/types.js';
import { parseAccept, tableContentType, wantsTable } from './negotiation.js';
import { toTable, type IncludeObject } from './respond.js';
import { objectJson } from './serialize.js';
import type { ResourceRequest } from './resources.js';
import type { ApiReply } from './exchange.js';

/** A watcher whose unread output exceeds this is disconnected (it relists and rewatches). */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const BOOKMARK_INTERVAL_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;

export function serveWatch(
  rr: ResourceRequest,
  registry: Registry,
  def: ResourceDef,
  namespace: string,
  sel: { labelSelector?: SelectorRequirement[]; fieldSelector?: SelectorRequirement[] },
  include: IncludeObject,
): ApiReply {
  const { reply, query } = rr;
  const table = wantsTable(parseAccept(rr.req.headers.accept));
  const bookmarks = query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1';
  const sendInitial = query.sendInitialEvents === 'true';
  if (sendInitial && !bookmarks) {
    throw badRequest('sendInitialEvents is only supported for watch requests with allowWatchBookmarks=true');
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS + Math.floor(Math.random() * DEFAULT_TIMEOUT_MS);
  if (query.timeoutSeconds) {
    const t = Number(query.timeoutSeconds);
    if (!Number.isFinite(t) || t < 0) throw badRequest(`invalid timeoutSeconds: ${query.timeoutSeconds}`);
    timeoutMs = t * 1000;
  }

  const res = reply.raw;
  let headersSent = false;
  let first = true;
  let closed = false;
  const pending: string[] = [];
  let stop: () => void = () => {};
  const timers: { timeout?: NodeJS.Timeout; bookmark?: NodeJS.Timeout } = {};
  const apiVersion = def.group ? `${def.group}/${def.version}` : def.version;
  const cache = registry.cache(def.resource);

  const close = (): void => {
    if (closed) return;
    closed = true;
    stop();
    if (timers.timeout) clearTimeout(timers.timeout);
    if (timers.bookmark) clearInterval(timers.bookmark);
    if (headersSent) res.end();
  };

  const line = (type: string, object: KubeObject | object): string => {
    let obj: object = object;
    if (table && type !== 'ERROR' && type !== 'BOOKMARK') {
      obj = toTable(def, [object as KubeObject], new Date(), { version: table, include, headers: first });
      first = false;
    }
    // event objects are the cache's: one serialisation serves every watcher
    return `{"type":"${type}","object":${obj === object && type !== 'BOOKMARK' && type !== 'ERROR' ? objectJson(obj) : JSON.stringify(obj)}}\n`;
  };

  const write = (chunk: string): void => {
    if (closed) return;
    if (!headersSent) {
      pending.push(chunk);
      return;
    }
    res.write(chunk);
    if (res.writableLength > MAX_BUFFERED_BYTES) close();
  };

  const bookmark = (extra?: Record<string, string>): void => {
    write(
      line('BOOKMARK', {
        kind: def.kind,
        apiVersion,
        metadata: { resourceVersion: String(cache.revision), ...(extra ? { annotations: extra } : {}) },
      }),
    );
  };

  try {
    const handle = registry.watch(def, namespace, {
      ...sel,
      ...(query.resourceVersion !== undefined ? { resourceVersion: query.resourceVersion } : {}),
      sendInitialEvents: sendInitial,
    }, (type, object) => write(line(type, object)));
    stop = handle.stop;
    if (sendInitial) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } catch (err) {
    if (isStatusError(err) && err.code === 410) {
      // a watch that starts too far back gets its 410 as an ERROR event, as the apiserver does
      reply.hijack();
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
      res.end(`{"type":"ERROR","object":${JSON.stringify(err.status)}}\n`);
      return reply;
    }
    throw err;
  }

  reply.hijack();
  res.writeHead(200, {
    'Content-Type': table ? tableContentType(table) : 'application/json',
    'Transfer-Encoding': 'chunked',
    'Cache-Control': 'no-cache, private',
  });
  headersSent = true;
  res.flushHeaders();
  for (const chunk of pending.splice(0)) res.write(chunk);
  timers.timeout = setTimeout(close, timeoutMs);
  timers.timeout.unref();
  if (bookmarks) {
    timers.bookmark = setInterval(() => bookmark(), BOOKMARK_INTERVAL_MS);
    timers.bookmark.unref();
  }
  res.on('close', close);
  res.on('error', close);
  return reply;
}
