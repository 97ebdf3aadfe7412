/**
 * Errors of the API client: one class for everything that goes wrong talking to the API server,
 * one for configuration that cannot be loaded (kubeconfig, in-cluster files).
 */
import type { Status } from '@boundtoken/api';
import type { ApiErrorShape } from './types.js';

export type ApiErrorCode = ApiErrorShape['code'];

/**
 * A failed API call. `ERR_API_STATUS`: the server answered non-2xx (`statusCode`, and `status` when
 * the body was a `Status`); `ERR_API_CONNECTION`: no answer (DNS, TCP, TLS); `ERR_API_TIMEOUT`: the
 * per-request deadline passed; `ERR_API_RESPONSE`: a 2xx answer that could not be read (bad JSON).
 */
export class ApiError extends Error implements ApiErrorShape {
  readonly code: ApiErrorCode;
  readonly statusCode: number | undefined;
  readonly status: Status | undefined;
  readonly reason: string | undefined;

  constructor(
    code: ApiErrorCode,
    message: string,
    init: { statusCode?: number; status?: Status; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = init.statusCode;
    this.status = init.status;
    this.reason = init.status?.reason;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

export type ConfigErrorCode = 'ERR_CONFIG_READ' | 'ERR_CONFIG_INVALID' | 'ERR_CONFIG_NOT_IN_CLUSTER';

/** A kubeconfig or in-cluster configuration that cannot be used; the message says which part and why. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
    this.code = code;
  }
}
