// GitHub's published REST description (@octokit/openapi) as a request checker for the fake.
// The fake refuses what real GitHub would not understand, so a test that passes against
// the fake cannot hide a wrong path, a misspelt query parameter or a malformed body.
// The description is 13 MB of JSON: it is parsed once per process, on first use, and only
// the parts a request touches are resolved ($ref by $ref), never the whole document.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export interface SchemaObject {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  properties?: Record<string, SchemaObject>;
  required?: string[];
  additionalProperties?: boolean | SchemaObject;
  items?: SchemaObject;
  oneOf?: SchemaObject[];
  anyOf?: SchemaObject[];
  allOf?: SchemaObject[];
}

interface ParameterObject {
  $ref?: string;
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: SchemaObject;
}

interface RequestBodyObject {
  required?: boolean;
  content?: Record<string, { schema?: SchemaObject }>;
}

interface OperationObject {
  operationId?: string;
  parameters?: ParameterObject[];
  requestBody?: RequestBodyObject;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components: {
    parameters: Record<string, ParameterObject>;
    schemas: Record<string, SchemaObject>;
  };
  'x-webhooks': Record<string, { post?: { parameters?: ParameterObject[] } }>;
}

interface CompiledRoute {
  /** The path exactly as GitHub's description spells it: `/repos/{owner}/{repo}/hooks`. */
  template: string;
  segments: Array<{ literal: string } | { param: string }>;
  /** The last parameter may swallow slashes (`contents/{path}`, `git/ref/{ref}`). */
  greedyTail: boolean;
  literalCount: number;
  operations: Record<string, OperationObject>;
}

interface LoadedDescription {
  doc: OpenApiDocument;
  routes: CompiledRoute[];
  webhookEvents: Set<string>;
}

/** Parameters whose values legitimately contain `/` when they are the last segment. */
const GREEDY_PARAMS = new Set(['path', 'ref', 'branch', 'dir', 'basehead']);
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
/** Nested bodies are checked this deep; GitHub's deeper schemas are too loose to matter. */
const MAX_SCHEMA_DEPTH = 6;

let loaded: LoadedDescription | undefined;

function loadDescription(): LoadedDescription {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument;
  const routes: CompiledRoute[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    const segments = template
      .split('/')
      .slice(1)
      .map((part): CompiledRoute['segments'][number] => {
        const param = /^\{([^}]+)\}$/.exec(part)?.[1];
        return param === undefined ? { literal: part } : { param };
      });
    const last = segments.at(-1);
    const operations: Record<string, OperationObject> = {};
    for (const [method, operation] of Object.entries(item)) {
      if (HTTP_METHODS.includes(method)) operations[method.toUpperCase()] = operation;
    }
    routes.push({
      template,
      segments,
      greedyTail: last !== undefined && 'param' in last && GREEDY_PARAMS.has(last.param),
      literalCount: segments.filter((s) => 'literal' in s).length,
      operations,
    });
  }
  const webhookEvents = new Set<string>();
  for (const hook of Object.values(doc['x-webhooks'])) {
    for (const parameter of hook.post?.parameters ?? []) {
      const example = (parameter as ParameterObject & { example?: unknown }).example;
      if (parameter.name === 'X-Github-Event' && typeof example === 'string') {
        webhookEvents.add(example);
      }
    }
  }
  pruneForChecking(doc);
  loaded = { doc, routes, webhookEvents };
  return loaded;
}

/**
 * Drops what request checking never reads (responses, examples, prose, webhook payloads):
 * tap runs test files in parallel processes, and this cuts each one's share from ~38 MB to ~8 MB.
 */
function pruneForChecking(doc: OpenApiDocument): void {
  const mutable = doc as unknown as Record<string, unknown> & {
    components: Record<string, unknown>;
  };
  delete mutable['x-webhooks'];
  for (const section of ['examples', 'responses', 'headers']) delete mutable.components[section];
  for (const item of Object.values(doc.paths)) {
    for (const operation of Object.values(item)) {
      const op = operation as Record<string, unknown>;
      for (const field of ['responses', 'description', 'summary', 'externalDocs', 'x-github'])
        delete op[field];
    }
  }
}

function resolve<T extends { $ref?: string }>(doc: OpenApiDocument, value: T): T {
  let current: T = value;
  // Chains of $ref exist in the description (a parameter pointing at another); follow them.
  for (let hops = 0; current.$ref !== undefined && hops < 10; hops += 1) {
    const pointer = current.$ref.replace(/^#\//, '').split('/');
    let target: unknown = doc;
    for (const key of pointer) {
      target = (target as Record<string, unknown> | undefined)?.[key];
    }
    if (target === undefined) throw new Error(`fake-github: unresolvable $ref ${current.$ref}`);
    current = target as T;
  }
  return current;
}

export interface RouteMatch {
  template: string;
  operationId: string | undefined;
  /** Decoded path parameters, keyed by the description's names. */
  params: Record<string, string>;
}

export interface RequestToCheck {
  method: string;
  /** Path without the query string and without a GHES `/api/v3` prefix. */
  pathname: string;
  query: URLSearchParams;
  contentType: string | undefined;
  rawBody: Buffer;
}

export type CheckResult =
  | { ok: true; match: RouteMatch; body: unknown }
  | { ok: false; match: RouteMatch | undefined; problems: string[] };

function splitPath(pathname: string): string[] | undefined {
  try {
    // Split before decoding: `contents/a%2Fb.ts` (Octokit's encoding) is one segment.
    return pathname
      .split('/')
      .slice(1)
      .map((part) => decodeURIComponent(part));
  } catch {
    return undefined;
  }
}

function matchRoute(route: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const { segments } = route;
  if (parts.length < segments.length) return undefined;
  if (parts.length > segments.length && !route.greedyTail) return undefined;
  const params: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    const isLast = index === segments.length - 1;
    const value = isLast ? parts.slice(index).join('/') : parts[index];
    if (value === undefined || value === '') return undefined;
    if ('literal' in segment) {
      if (segment.literal !== value) return undefined;
    } else {
      params[segment.param] = value;
    }
  }
  return params;
}

/** Finds the description's route for a path: exact segment counts beat greedy tails, literals beat parameters. */
function findRoute(
  parts: string[],
): { route: CompiledRoute; params: Record<string, string> } | undefined {
  const { routes } = loadDescription();
  let best: { route: CompiledRoute; params: Record<string, string>; score: number } | undefined;
  for (const route of routes) {
    const params = matchRoute(route, parts);
    if (!params) continue;
    const exact = route.segments.length === parts.length ? 1000 : 0;
    const score = exact + route.literalCount;
    if (!best || score > best.score) best = { route, params, score };
  }
  return best && { route: best.route, params: best.params };
}

function checkScalar(value: string, schema: SchemaObject, where: string): string | undefined {
  if (schema.enum && !schema.enum.includes(value)) {
    return `${where} must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`;
  }
  if (schema.type === 'integer' && !/^-?\d+$/.test(value)) {
    return `${where} must be an integer, got ${JSON.stringify(value)}`;
  }
  if (schema.type === 'number' && !Number.isFinite(Number(value))) {
    return `${where} must be a number, got ${JSON.stringify(value)}`;
  }
  if (schema.type === 'boolean' && value !== 'true' && value !== 'false') {
    return `${where} must be true or false, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * A deliberately small JSON-schema check: types, enums, required and unknown properties
 * (where the description forbids them), one-of alternatives. Formats and patterns are
 * left to GitHub's own 422s, which the fake's handlers reproduce where they matter.
 */
function checkSchema(
  doc: OpenApiDocument,
  value: unknown,
  rawSchema: SchemaObject,
  where: string,
  depth = 0,
): string[] {
  const schema = resolve(doc, rawSchema);
  if (depth > MAX_SCHEMA_DEPTH) return [];
  const problems: string[] = [];
  for (const part of schema.allOf ?? [])
    problems.push(...checkSchema(doc, value, part, where, depth + 1));
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) {
    const fits = alternatives.some(
      (alt) => checkSchema(doc, value, alt, where, depth + 1).length === 0,
    );
    if (!fits) problems.push(`${where} matches none of the allowed shapes`);
  }
  if (value === null) {
    if (schema.type !== undefined && !schema.nullable) problems.push(`${where} must not be null`);
    return problems;
  }
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const fits = schema.type === actual || (schema.type === 'number' && actual === 'integer');
    if (!fits) {
      problems.push(`${where} must be of type ${schema.type}, got ${actual}`);
      return problems;
    }
  }
  if (schema.enum && !schema.enum.includes(value)) {
    problems.push(
      `${where} must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  if (actual === 'object' && (schema.properties || schema.required)) {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!(name in object)) problems.push(`${where} is missing required property "${name}"`);
    }
    for (const [name, propertyValue] of Object.entries(object)) {
      const propertySchema = schema.properties?.[name];
      if (propertySchema) {
        problems.push(
          ...checkSchema(doc, propertyValue, propertySchema, `${where}.${name}`, depth + 1),
        );
      } else if (schema.additionalProperties === false) {
        problems.push(`${where} has unknown property "${name}"`);
      }
    }
  }
  if (actual === 'array' && schema.items) {
    for (const [index, item] of (value as unknown[]).entries()) {
      problems.push(...checkSchema(doc, item, schema.items, `${where}[${index}]`, depth + 1));
    }
  }
  return problems;
}

function isJsonContentType(contentType: string | undefined): boolean {
  return contentType === undefined || /^application\/([\w.+-]*\+)?json\b/i.test(contentType);
}

/** Checks one REST request against GitHub's description and returns the parsed JSON body. */
export function checkRequest(request: RequestToCheck): CheckResult {
  const { doc } = loadDescription();
  const parts = splitPath(request.pathname);
  if (!parts)
    return { ok: false, match: undefined, problems: ['the path is not valid percent-encoding'] };
  const found = findRoute(parts);
  if (!found) {
    return {
      ok: false,
      match: undefined,
      problems: [`no path in the description matches ${request.pathname}`],
    };
  }
  const { route, params } = found;
  const operation = route.operations[request.method];
  if (!operation) {
    const allowed = Object.keys(route.operations).join(', ');
    return {
      ok: false,
      match: { template: route.template, operationId: undefined, params },
      problems: [`${request.method} is not defined for ${route.template} (only ${allowed})`],
    };
  }
  const match: RouteMatch = {
    template: route.template,
    operationId: operation.operationId,
    params,
  };
  const problems: string[] = [];

  const parameters = (operation.parameters ?? []).map((p) => resolve(doc, p));
  const known = new Set<string>();
  for (const parameter of parameters) {
    if (parameter.in === 'path') {
      const value = params[parameter.name];
      if (value === undefined) problems.push(`path parameter "${parameter.name}" is missing`);
      else if (parameter.schema) {
        const problem = checkScalar(
          value,
          resolve(doc, parameter.schema),
          `path parameter "${parameter.name}"`,
        );
        if (problem) problems.push(problem);
      }
    } else if (parameter.in === 'query') {
      known.add(parameter.name);
      const values = request.query.getAll(parameter.name);
      if (values.length === 0) {
        if (parameter.required) problems.push(`query parameter "${parameter.name}" is required`);
        continue;
      }
      const schema = parameter.schema ? resolve(doc, parameter.schema) : undefined;
      if (schema && schema.type !== 'array') {
        for (const value of values) {
          const problem = checkScalar(value, schema, `query parameter "${parameter.name}"`);
          if (problem) problems.push(problem);
        }
      }
    }
  }
  for (const name of new Set(request.query.keys())) {
    // GitHub silently ignores unknown parameters, which hides typos; the fake refuses them.
    if (!known.has(name))
      problems.push(
        `query parameter "${name}" is not defined for ${request.method} ${route.template}`,
      );
  }

  let body: unknown = undefined;
  const hasBody = request.rawBody.length > 0;
  const requestBody = operation.requestBody;
  if (!requestBody) {
    if (hasBody) problems.push(`${request.method} ${route.template} takes no request body`);
  } else if (!hasBody) {
    if (requestBody.required) problems.push('a request body is required');
  } else {
    const jsonSchema = requestBody.content?.['application/json']?.schema;
    if (jsonSchema === undefined || !isJsonContentType(request.contentType)) {
      const accepted = Object.keys(requestBody.content ?? {}).join(', ');
      problems.push(
        `content type ${request.contentType ?? '(none)'} is not accepted (expects ${accepted})`,
      );
    } else {
      try {
        body = JSON.parse(request.rawBody.toString('utf8'));
        problems.push(...checkSchema(doc, body, jsonSchema, 'body'));
      } catch {
        problems.push('the body is not valid JSON (GitHub answers "Problems parsing JSON")');
      }
    }
  }
  return problems.length === 0 ? { ok: true, match, body } : { ok: false, match, problems };
}

/** Whether `METHOD /template` (Octokit's route spelling) exists in the description. */
export function hasOperation(route: string): boolean {
  const [method, template] = route.split(' ');
  if (method === undefined || template === undefined) return false;
  const item = loadDescription().doc.paths[template];
  return item?.[method.toLowerCase()] !== undefined;
}

/** Event names GitHub's description documents for webhooks (`workflow_run`, `ping`, …). */
export function knownWebhookEvents(): ReadonlySet<string> {
  return loadDescription().webhookEvents;
}
