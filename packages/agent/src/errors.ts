/**
 * Errors of the node agent. Each has a stable `code` from a closed union; the message is the one
 * Kubernetes prints in the same situation (it ends up in `FailedMount` events), and `cause` keeps
 * the underlying error.
 */
export type AgentErrorCode =
  /** A payload path the AtomicWriter refuses (absolute, `..`, too long, reserved `..` prefix). */
  | 'ERR_INVALID_PATH'
  /** The AtomicWriter's target directory does not exist. */
  | 'ERR_TARGET_DIR'
  /** TokenRequest failed and there is no cached token. */
  | 'ERR_TOKEN_FETCH'
  /** TokenRequest failed and the cached token has expired. */
  | 'ERR_TOKEN_EXPIRED'
  /** A configMap or secret key listed in `items` does not exist (and the source is not optional). */
  | 'ERR_MISSING_KEY'
  /** A downward API field or resource that cannot be resolved. */
  | 'ERR_FIELD_PATH'
  /** An object the volume needs (configMap, secret, service account) was not found. */
  | 'ERR_NOT_FOUND'
  /** The projection is not valid for the node (no defaultMode, missing source fields). */
  | 'ERR_INVALID_VOLUME'
  /** Several sources of one volume failed; `errors` holds them in order. */
  | 'ERR_AGGREGATE'
  /** The API answered with an error (`reason`, `statusCode` as the server sent them). */
  | 'ERR_API';

export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AgentError';
    this.code = code;
  }
}

/**
 * Several errors reported as one, formatted like apimachinery's `utilerrors.NewAggregate`:
 * one error prints as itself, several as `[a, b]`.
 */
export class AggregateAgentError extends AgentError {
  readonly errors: readonly Error[];

  constructor(errors: readonly Error[]) {
    super('ERR_AGGREGATE', errors.length === 1 ? errors[0]!.message : `[${errors.map((e) => e.message).join(', ')}]`);
    this.name = 'AggregateAgentError';
    this.errors = errors;
  }
}

/**
 * `errors` as one error: undefined for none, the error itself for one (so its code survives),
 * an AggregateAgentError for several.
 */
export function aggregate(errors: readonly Error[]): Error | undefined {
  if (errors.length === 0) return undefined;
  if (errors.length === 1) return errors[0];
  return new AggregateAgentError(errors);
}

/** A `NotFound` answer from the API (the client's ApiError, or the agent's own caches). */
export function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { reason?: unknown; statusCode?: unknown; code?: unknown };
  return e.reason === 'NotFound' || e.code === 'ERR_NOT_FOUND' || (e.statusCode === 404 && e.reason === undefined);
}

/** The API's answer had reason `reason` (`Conflict`, `AlreadyExists`, …). */
export function hasReason(err: unknown, reason: string): boolean {
  return typeof err === 'object' && err !== null && (err as { reason?: unknown }).reason === reason;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * An API client error as Kubernetes components print it: the server's `Status` message alone
 * (`serviceaccounts "x" not found`), without the client's method and path prefix. Keeps `reason`
 * and `statusCode` (so isNotFound still works) and the original error as `cause`.
 */
export class ApiStatusError extends AgentError {
  readonly reason: string | undefined;
  readonly statusCode: number | undefined;

  constructor(message: string, reason: string | undefined, statusCode: number | undefined, cause: unknown) {
    super('ERR_API', message, { cause });
    this.name = 'ApiStatusError';
    this.reason = reason;
    this.statusCode = statusCode;
  }
}

/** `err` with the server's Status message when it carries one; other errors unchanged. */
export function fromApiError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null || err instanceof AgentError) return err;
  const e = err as { status?: { message?: unknown }; reason?: unknown; statusCode?: unknown };
  const message = e.status?.message;
  if (typeof message !== 'string' || message === '') return err;
  return new ApiStatusError(
    message,
    typeof e.reason === 'string' ? e.reason : undefined,
    typeof e.statusCode === 'number' ? e.statusCode : undefined,
    err,
  );
}
