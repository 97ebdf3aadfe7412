/**
 * The request and reply every handler works with: what they read of a request and how they
 * answer. Fastify's request and reply satisfy these, and so do the lean path's (lean.ts), so
 * one dispatch and one set of handlers serve both.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ApiRequest {
  readonly method: string;
  /** The request target as sent: path and query string. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
  /** The body as read (a Buffer), undefined for methods without one. */
  readonly body: unknown;
}

export interface ApiReply {
  /** The response the reply writes to (watch streams write to it directly, after `hijack()`). */
  readonly raw: ServerResponse;
  code(statusCode: number): ApiReply;
  /** Sets a header (names are case-insensitive; a later value replaces an earlier one). */
  header(name: string, value: string | string[]): ApiReply;
  /** Sends the body with a Content-Length; the Content-Type must have been set. */
  send(payload: Buffer): ApiReply;
  /** Takes the response over: the reply sends nothing itself. */
  hijack(): void;
}
