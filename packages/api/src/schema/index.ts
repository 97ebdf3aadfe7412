/**
 * `@boundtoken/api/schema`: the OpenAPI schemas of every served kind, the `/openapi/v3` documents
 * built from them, and Kubernetes' decoding checks (types, unknown/duplicate fields, nulls).
 */
export { schemas, schemaNameForGvk, apiVersionOf, gvkKey } from './registry.js';
export type { GroupVersionKind, JsonSchema } from './registry.js';
export { openApiV3Index, openApiV3Document, openApiV3Path, openApiHash } from './openapi.js';
export type { OpenApiResource, OpenApiSubresource, GroupVersion } from './openapi.js';
export { checkObject } from './check.js';
export type { CheckOptions, CheckResult, FieldValidation } from './check.js';
export { findDuplicateKeys } from './duplicate-keys.js';
export { canonicalQuantity, QuantityError } from './quantity.js';
export { canonicalTime, formatTime, formatMicroTime, TimeParseError } from './time.js';
export { compileKind, compileSchema } from './compile.js';
export type { Node as SchemaNode, StructNode, ListNode, MapNode } from './compile.js';
