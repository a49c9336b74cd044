/**
 * Generates src/server/openapi/k8s-schemas.json: the OpenAPI schemas of the built-in kinds the
 * server can serve (core/v1, apps/v1, batch/v1) and everything they reference, with Kubernetes'
 * own descriptions.
 *
 * The source is the npm package kubernetes-models (maintained, regenerated from each Kubernetes
 * release's OpenAPI document). It ships the schemas only as compiled ajv validators, so this reads
 * its TypeScript declarations instead, which keep every type, enum, required field and
 * description. What they lose: integer vs number (both are `number`; numbers are served as
 * integers, which every number field of these groups is) and formats (date-time, int32, byte).
 *
 * Run: npx tsx tools/openapi-schemas.ts            (writes the file)
 *      npx tsx tools/openapi-schemas.ts --check    (exits 1 if the file is stale)
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'src/server/openapi/k8s-schemas.json');
const require = createRequire(join(ROOT, 'package.json'));
const MODELS = dirname(require.resolve('kubernetes-models/package.json'));
const APIMACHINERY = dirname(require.resolve('@kubernetes-models/apimachinery/package.json'));
// TypeMeta (apiVersion, kind) lives in @kubernetes-models/base, a dependency of kubernetes-models
// (import-only exports, so found by folder: nested under kubernetes-models or hoisted beside it).
const TYPE_META = [join(MODELS, 'node_modules'), dirname(MODELS)]
  .map((dir) => join(dir, '@kubernetes-models/base/dist/meta.d.ts'))
  .find((file) => existsSync(file)) ?? '@kubernetes-models/base/dist/meta.d.ts (not installed)';

/** Group-versions whose kinds are generated, as kubernetes-models' folders. */
const GROUP_VERSIONS: ReadonlyArray<{ dir: string; group: string; version: string }> = [
  { dir: 'v1', group: '', version: 'v1' },
  { dir: 'apps/v1', group: 'apps', version: 'v1' },
  { dir: 'batch/v1', group: 'batch', version: 'v1' },
];

type Schema = Record<string, unknown>;

/** The Kubernetes definition name of a declaration file: the path says the Go package. */
function definitionName(file: string): string {
  const inModels = !relative(MODELS, file).startsWith('..');
  const rel = relative(inModels ? MODELS : APIMACHINERY, file).replace(/\.d\.ts$/, '');
  const parts = rel.split('/');
  const kind = parts.pop()!;
  if (!inModels) return ['io.k8s.apimachinery.pkg', ...parts, kind].join('.');
  if (parts.length === 1) return `io.k8s.api.core.${parts[0]}.${kind}`;
  return `io.k8s.api.${parts[0]!.replace(/\.k8s\.io$/, '')}.${parts[1]}.${kind}`;
}

function resolveImport(from: string, specifier: string): string {
  if (specifier.startsWith('.')) return join(dirname(from), specifier.replace(/\.js$/, '.d.ts'));
  const sub = specifier.replace(/^@kubernetes-models\/apimachinery\//, '');
  return join(APIMACHINERY, `${sub.replace(/\.js$/, '')}.d.ts`);
}

function description(node: ts.Node): string | undefined {
  const docs = (node as { jsDoc?: ts.JSDoc[] }).jsDoc;
  const text = docs?.map((d) => ts.getTextOfJSDocComment(d.comment) ?? '').join('\n').trim();
  return text === undefined || text === '' ? undefined : text;
}

const schemas = new Map<string, Schema>();

/** apiVersion's and kind's descriptions: each kind's interface restates them as literals, bare. */
function typeMetaDescriptions(): Map<string, string> {
  const source = ts.createSourceFile(TYPE_META, readFileSync(TYPE_META, 'utf8'), ts.ScriptTarget.Latest, true);
  const out = new Map<string, string>();
  for (const statement of source.statements) {
    if (!ts.isInterfaceDeclaration(statement) || statement.name.text !== 'TypeMeta') continue;
    for (const member of statement.members) {
      const text = description(member);
      if (ts.isPropertySignature(member) && ts.isIdentifier(member.name) && text !== undefined) out.set(member.name.text, text);
    }
  }
  if (!out.has('apiVersion') || !out.has('kind')) throw new Error(`${TYPE_META}: no TypeMeta descriptions`);
  return out;
}
let typeMeta: Map<string, string> | undefined;

/** Parses one declaration file into its schema, queuing the files it references. */
function generate(file: string, gvk?: { group: string; version: string; kind: string }): string {
  const name = definitionName(file);
  if (schemas.has(name)) return name;
  schemas.set(name, {}); // placeholder: cycles (JSONSchemaProps-like types) end here
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const imports = new Map<string, string>();
  let main: ts.InterfaceDeclaration | ts.TypeAliasDeclaration | undefined;
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const bindings = statement.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) imports.set(element.name.text, resolveImport(file, statement.moduleSpecifier.text));
      }
    } else if ((ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) && main === undefined) {
      main = statement;
    }
  }
  if (main === undefined) throw new Error(`${file}: no interface or type`);

  const typeSchema = (node: ts.TypeNode): Schema => {
    if (node.kind === ts.SyntaxKind.StringKeyword) return { type: 'string' };
    if (node.kind === ts.SyntaxKind.NumberKeyword) return { type: 'integer' };
    if (node.kind === ts.SyntaxKind.BooleanKeyword) return { type: 'boolean' };
    if (ts.isParenthesizedTypeNode(node)) return typeSchema(node.type);
    if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return { type: 'string' };
    if (ts.isArrayTypeNode(node)) return { type: 'array', items: typeSchema(node.elementType) };
    if (ts.isUnionTypeNode(node)) {
      const members = node.types;
      if (members.every((t) => ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal))) {
        return { type: 'string', enum: members.map((t) => ((t as ts.LiteralTypeNode).literal as ts.StringLiteral).text) };
      }
      const kinds = new Set(members.map((t) => t.kind));
      if (kinds.has(ts.SyntaxKind.StringKeyword) && kinds.has(ts.SyntaxKind.NumberKeyword) && kinds.size === 2) {
        return { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
      }
      throw new Error(`${file}: union ${node.getText()}`);
    }
    if (ts.isTypeLiteralNode(node)) {
      const index = node.members.find(ts.isIndexSignatureDeclaration);
      if (index !== undefined && node.members.length === 1) return { type: 'object', additionalProperties: typeSchema(index.type) };
      return objectSchema(node.members);
    }
    if (ts.isTypeReferenceNode(node) && ts.isIdentifier(node.typeName)) {
      const id = node.typeName.text;
      if (id === 'Array' && node.typeArguments?.length === 1) return { type: 'array', items: typeSchema(node.typeArguments[0]!) };
      const target = imports.get(id);
      if (target !== undefined) return { $ref: generate(target) };
    }
    throw new Error(`${file}: type ${node.getText()}`);
  };

  const objectSchema = (members: ts.NodeArray<ts.TypeElement>): Schema => {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const member of members) {
      if (!ts.isPropertySignature(member) || member.type === undefined) continue;
      const key = ts.isStringLiteral(member.name) || ts.isIdentifier(member.name) ? member.name.text : member.name.getText();
      const text = description(member) ?? (gvk === undefined ? undefined : (typeMeta ??= typeMetaDescriptions()).get(key));
      properties[key] = { ...(text === undefined ? {} : { description: text }), ...typeSchema(member.type) };
      if (member.questionToken === undefined) required.push(key);
    }
    return { type: 'object', ...(required.length > 0 ? { required } : {}), properties };
  };

  const text = description(main);
  const body = ts.isInterfaceDeclaration(main) ? objectSchema(main.members) : typeSchema(main.type);
  // Kubernetes' schemas do not require apiVersion and kind: clients may leave them to the path.
  if (gvk !== undefined && Array.isArray(body.required)) {
    const required = body.required.filter((key) => key !== 'apiVersion' && key !== 'kind');
    if (required.length > 0) body.required = required;
    else delete body.required;
  }
  schemas.set(name, {
    ...(text === undefined ? {} : { description: text }),
    ...body,
    ...(gvk === undefined ? {} : { 'x-kubernetes-group-version-kind': [gvk] }),
  });
  return name;
}

function isKind(file: string): string | undefined {
  return /^\s*"kind": "([A-Za-z]+)";$/m.exec(readFileSync(file, 'utf8'))?.[1];
}

function generateAll(): Record<string, Schema> {
  schemas.clear();
  for (const { dir, group, version } of GROUP_VERSIONS) {
    for (const entry of readdirSync(join(MODELS, dir)).sort()) {
      if (!entry.endsWith('.d.ts') || entry === 'index.d.ts') continue;
      const file = join(MODELS, dir, entry);
      const kind = isKind(file);
      if (kind !== undefined) generate(file, { group, version, kind });
    }
  }
  return Object.fromEntries([...schemas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const version = (JSON.parse(readFileSync(join(MODELS, 'package.json'), 'utf8')) as { version: string }).version;
  const text = `${JSON.stringify({ source: `kubernetes-models@${version}`, definitions: generateAll() })}\n`;
  if (process.argv.includes('--check')) {
    const stale = readFileSync(OUT, 'utf8') !== text;
    if (stale) console.error(`${relative(ROOT, OUT)} is stale: run npx tsx tools/openapi-schemas.ts`);
    process.exit(stale ? 1 : 0);
  }
  writeFileSync(OUT, text);
  console.log(`${relative(ROOT, OUT)}: ${Object.keys(JSON.parse(text).definitions).length} definitions from kubernetes-models@${version}`);
}
