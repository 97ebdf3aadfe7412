export type * from './objects.js';
export { goSortedKeys } from './go-order.js';
export { goQuote, goQuoteList } from './go-quote.js';
export {
  StatusError,
  isStatusError,
  qualifiedResource,
  notFound,
  pathNotFound,
  methodNotRouted,
  alreadyExists,
  conflict,
  OPTIMISTIC_LOCK_MESSAGE,
  badRequest,
  unauthorized,
  forbidden,
  methodNotAllowed,
  notAcceptable,
  unsupportedMediaType,
  requestEntityTooLarge,
  expired,
  gone,
  internalError,
  serviceUnavailable,
  timeout,
  tooManyRequests,
  fieldErrorMessage,
  invalid,
  field,
} from './status.js';
export type { StatusReason, CauseType, FieldError, GroupKind, GroupResource } from './status.js';
