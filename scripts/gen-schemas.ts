/**
 * Generates the OpenAPI v3 component schemas of every kind boundtoken serves
 * (packages/api/src/schema/schemas.generated.json) from the kubernetes-types declaration files
 * (generated upstream from the Kubernetes OpenAPI: JSDoc = description, `?` = optional) and the
 * hand-kept overlay in scripts/schema-overlay.ts (formats, patch strategies, list types, GVKs).
 *
 *   node --import tsx scripts/gen-schemas.ts           rewrite the checked-in file
 *   node --import tsx scripts/gen-schemas.ts --check   exit 1 if it is out of date
 *
 * A test (packages/api/test/schema/generated.test.ts) regenerates and compares, so the checked-in
 * file cannot drift from the generator, the overlay or the kubernetes-types version.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { fieldOverlays, typeOverlays, INT_OR_STRING, type FieldOverlay } from './schema-overlay.ts';

/** A JSON Schema object as Kubernetes publishes it in `components.schemas`. */
export type Schema = { [key: string]: unknown };

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const OUTPUT = join(root, 'packages/api/src/schema/schemas.generated.json');

/** kubernetes-types module → Kubernetes OpenAPI definition prefix. */
const MODULES: Record<string, string> = {
  'core/v1': 'io.k8s.api.core.v1',
  'rbac/v1': 'io.k8s.api.rbac.v1',
  'authentication/v1': 'io.k8s.api.authentication.v1',
  'authentication/v1beta1': 'io.k8s.api.authentication.v1beta1',
  'authorization/v1': 'io.k8s.api.authorization.v1',
  'coordination/v1': 'io.k8s.api.coordination.v1',
  'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
  'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
  runtime: 'io.k8s.apimachinery.pkg.runtime',
  version: 'io.k8s.apimachinery.pkg.version',
};

/** The kinds the server serves (and the meta types its operations use); the rest is what they reference. */
export const ROOTS: [module: string, name: string][] = [
  ...['Namespace', 'ServiceAccount', 'Pod', 'Node', 'Secret', 'ConfigMap', 'Event'].flatMap(
    (k): [string, string][] => [
      ['core/v1', k],
      ['core/v1', `${k}List`],
    ],
  ),
  ['core/v1', 'Binding'],
  ...['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].flatMap((k): [string, string][] => [
    ['rbac/v1', k],
    ['rbac/v1', `${k}List`],
  ]),
  ['authentication/v1', 'TokenRequest'],
  ['authentication/v1', 'TokenReview'],
  ['authentication/v1', 'SelfSubjectReview'],
  ['authentication/v1beta1', 'SelfSubjectReview'],
  ['authorization/v1', 'SubjectAccessReview'],
  ['authorization/v1', 'SelfSubjectAccessReview'],
  ['authorization/v1', 'LocalSubjectAccessReview'],
  ['authorization/v1', 'SelfSubjectRulesReview'],
  ['coordination/v1', 'Lease'],
  ['coordination/v1', 'LeaseList'],
  ['meta/v1', 'Status'],
  ['meta/v1', 'DeleteOptions'],
  ['meta/v1', 'WatchEvent'],
  ['meta/v1', 'Patch'],
  ['meta/v1', 'APIResourceList'],
  ['meta/v1', 'APIGroupList'],
  ['meta/v1', 'APIGroup'],
  ['meta/v1', 'APIVersions'],
  ['version', 'Info'],
];

interface Declaration {
  module: string;
  node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration;
  file: ts.SourceFile;
}

function typesDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('kubernetes-types/package.json'));
}

/** Generates every schema reachable from ROOTS, keyed by definition name, keys sorted. */
export function generateSchemas(dir = typesDir()): Record<string, Schema> {
  const files = Object.keys(MODULES).map((m) => join(dir, `${m}.d.ts`));
  const program = ts.createProgram(files, { noEmit: true, types: [], noResolve: true });
  const checker = program.getTypeChecker();

  // name lookups per module: local declarations and imported names
  const decls = new Map<string, Declaration>(); // "module#Name"
  const imports = new Map<string, string>(); // "module#Local" -> "module#Name"
  for (const module of Object.keys(MODULES)) {
    const file = program.getSourceFile(join(dir, `${module}.d.ts`));
    if (!file) throw new Error(`kubernetes-types has no ${module}.d.ts`);
    for (const stmt of file.statements) {
      if (ts.isInterfaceDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt)) {
        decls.set(`${module}#${stmt.name.text}`, { module, node: stmt, file });
      } else if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
        const from = join(dirname(module), stmt.moduleSpecifier.text).replace(/^\.\//, '');
        const bindings = stmt.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements) {
            imports.set(`${module}#${el.name.text}`, `${from}#${(el.propertyName ?? el.name).text}`);
          }
        }
      }
    }
  }

  const out: Record<string, Schema> = {};
  const queue: string[] = [];
  const defName = (key: string): string => {
    const [module, name] = key.split('#') as [string, string];
    const prefix = MODULES[module];
    if (!prefix) throw new Error(`no definition prefix for module ${module}`);
    return `${prefix}.${name}`;
  };
  const resolveRef = (module: string, name: string): string => {
    const local = `${module}#${name}`;
    if (decls.has(local)) return local;
    const imported = imports.get(local);
    if (imported && decls.has(imported)) return imported;
    throw new Error(`cannot resolve type ${name} in ${module}`);
  };
  const enqueue = (key: string): string => {
    const name = defName(key);
    if (!(name in out) && !queue.includes(key)) queue.push(key);
    return name;
  };
  const doc = (node: ts.Node): string | undefined => {
    const named = node as ts.Node & { name?: ts.Node };
    const symbol = named.name ? checker.getSymbolAtLocation(named.name) : undefined;
    const text = symbol ? ts.displayPartsToString(symbol.getDocumentationComment(checker)) : '';
    return text ? text : undefined;
  };

  const typeSchema = (module: string, node: ts.TypeNode, owner: string, fieldName: string): Schema => {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return { type: 'string' };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: 'boolean' };
      case ts.SyntaxKind.NumberKeyword: {
        const format = fieldOverlays[owner]?.[fieldName]?.format ?? 'int32';
        return format === 'double' ? { type: 'number', format } : { type: 'integer', format };
      }
      case ts.SyntaxKind.LiteralType:
        return { type: 'string' };
      case ts.SyntaxKind.ArrayType:
        return { type: 'array', items: typeSchema(module, (node as ts.ArrayTypeNode).elementType, owner, `${fieldName}[]`) };
      case ts.SyntaxKind.UnionType: {
        const parts = (node as ts.UnionTypeNode).types.map((t) => t.kind).sort();
        if (parts.join() === [ts.SyntaxKind.NumberKeyword, ts.SyntaxKind.StringKeyword].sort().join()) {
          out[INT_OR_STRING.name] ??= INT_OR_STRING.schema;
          return { $ref: ref(INT_OR_STRING.name) };
        }
        throw new Error(`${owner}.${fieldName}: unsupported union type`);
      }
      case ts.SyntaxKind.TypeLiteral: {
        const lit = node as ts.TypeLiteralNode;
        const index = lit.members.find(ts.isIndexSignatureDeclaration);
        if (index && lit.members.length === 1) {
          return { type: 'object', additionalProperties: typeSchema(module, index.type, owner, `${fieldName}{}`) };
        }
        throw new Error(`${owner}.${fieldName}: unsupported type literal`);
      }
      case ts.SyntaxKind.TypeReference: {
        const tr = node as ts.TypeReferenceNode;
        const name = tr.typeName.getText();
        if (name === 'Array' && tr.typeArguments?.length === 1) {
          return { type: 'array', items: typeSchema(module, tr.typeArguments[0]!, owner, `${fieldName}[]`) };
        }
        return { $ref: ref(enqueue(resolveRef(module, name))) };
      }
      default:
        throw new Error(`${owner}.${fieldName}: unsupported type ${ts.SyntaxKind[node.kind]}`);
    }
  };

  const build = (key: string): Schema => {
    const decl = decls.get(key)!;
    const name = defName(key);
    const overlay = typeOverlays[name] ?? {};
    const schema: Schema = {};
    const description = doc(decl.node);
    if (description) schema.description = description;
    if (ts.isTypeAliasDeclaration(decl.node)) {
      // Time, MicroTime, Quantity: their JSON form is a string; the overlay says which format
      if (decl.node.type.kind !== ts.SyntaxKind.StringKeyword) throw new Error(`${name}: unsupported alias`);
      return applySchema(Object.assign(schema, { type: 'string' }), overlay.schema);
    }
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    let apiVersion: string | undefined;
    let kind: string | undefined;
    const fields = fieldOverlays[name] ?? {};
    for (const member of decl.node.members) {
      if (!ts.isPropertySignature(member) || !member.type) throw new Error(`${name}: unsupported member`);
      const field = member.name.getText(decl.file);
      if (overlay.removeProperties?.includes(field)) continue;
      const prop: Schema = typeSchema(decl.module, member.type, name, field);
      const fieldDoc = doc(member);
      if (fieldDoc) prop.description = fieldDoc;
      applyFieldOverlay(prop, fields[field]);
      const itemOverlay = fields[`${field}[]`];
      if (itemOverlay && prop.items) applyFieldOverlay(prop.items as Schema, itemOverlay);
      const valueOverlay = fields[`${field}{}`];
      if (valueOverlay && prop.additionalProperties) applyFieldOverlay(prop.additionalProperties as Schema, valueOverlay);
      properties[field] = prop;
      if (!member.questionToken) required.push(field);
      if (member.type.kind === ts.SyntaxKind.LiteralType) {
        const lit = (member.type as ts.LiteralTypeNode).literal;
        if (ts.isStringLiteral(lit) && field === 'apiVersion') apiVersion = lit.text;
        if (ts.isStringLiteral(lit) && field === 'kind') kind = lit.text;
      }
    }
    for (const [field, prop] of Object.entries(overlay.addProperties ?? {})) {
      if (field in properties) throw new Error(`overlay adds existing field ${name}.${field}`);
      properties[field] = prop;
    }
    required.push(...(overlay.addRequired ?? []));
    for (const field of Object.keys(fields)) {
      const base = field.replace(/(\[\]|\{\})$/, '');
      if (!(base in properties)) throw new Error(`overlay names unknown field ${name}.${field}`);
    }
    if (Object.keys(properties).length > 0) schema.properties = properties;
    if (required.length > 0) schema.required = required;
    schema.type = 'object';
    const gvks = overlay.gvk ?? (apiVersion && kind ? [gvkOf(apiVersion, kind)] : undefined);
    if (gvks) schema['x-kubernetes-group-version-kind'] = gvks;
    return applySchema(schema, overlay.schema);
  };

  for (const [module, name] of ROOTS) enqueue(resolveRef(module, name));
  while (queue.length > 0) {
    const key = queue.shift()!;
    out[defName(key)] = build(key);
  }
  for (const name of Object.keys(typeOverlays).concat(Object.keys(fieldOverlays))) {
    if (!(name in out)) throw new Error(`overlay names a type that is not generated: ${name}`);
  }
  return sortKeys(out) as Record<string, Schema>;
}

/** Merges an overlay into a schema; an `undefined` value removes the key. */
function applySchema(schema: Schema, patch: Record<string, unknown> | undefined): Schema {
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === undefined) delete schema[k];
    else schema[k] = v;
  }
  return schema;
}

function ref(name: string): string {
  return `#/components/schemas/${name}`;
}

function gvkOf(apiVersion: string, kind: string): { group: string; kind: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', kind, version: apiVersion }
    : { group: apiVersion.slice(0, slash), kind, version: apiVersion.slice(slash + 1) };
}

function applyFieldOverlay(prop: Schema, o: FieldOverlay | undefined): void {
  if (!o) return;
  if (o.format && prop.type !== 'integer' && prop.type !== 'number') prop.format = o.format;
  if (o.patchStrategy) prop['x-kubernetes-patch-strategy'] = o.patchStrategy;
  if (o.patchMergeKey) prop['x-kubernetes-patch-merge-key'] = o.patchMergeKey;
  if (o.listType) prop['x-kubernetes-list-type'] = o.listType;
  if (o.listMapKeys) prop['x-kubernetes-list-map-keys'] = o.listMapKeys;
  if (o.mapType) prop['x-kubernetes-map-type'] = o.mapType;
}

/** Sorts object keys recursively (Kubernetes serves its OpenAPI with sorted keys). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

export function render(schemas: Record<string, Schema>): string {
  return `${JSON.stringify(schemas, null, 1)}\n`;
}

function main(argv: string[]): number {
  const text = render(generateSchemas());
  if (argv.includes('--check')) {
    const current = readFileSync(OUTPUT, 'utf8');
    if (current !== text) {
      console.error(`${OUTPUT} is out of date: run node --import tsx scripts/gen-schemas.ts`);
      return 1;
    }
    return 0;
  }
  writeFileSync(OUTPUT, text);
  console.log(`wrote ${OUTPUT} (${Object.keys(JSON.parse(text) as object).length} schemas)`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
