// API scopes: what a token may do. Sessions (a person in a browser) hold every scope; an
// API token holds the subset it was created with, which can never exceed its creator's.
export const ALL_SCOPES = [
  'runs:read',
  'repos:read',
  'repos:write',
  'incidents:read',
  'incidents:write',
  'tokens:read',
  'tokens:write',
  'account:read',
  'account:write',
] as const;

export type Scope = (typeof ALL_SCOPES)[number];

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  'runs:read': 'Read workflow runs and jobs',
  'repos:read': 'Read connected repositories and their settings',
  'repos:write': 'Connect, change and disconnect repositories',
  'incidents:read': 'Read incidents, analyses and fix attempts',
  'incidents:write': 'Acknowledge, resolve and ignore incidents; request fixes',
  'tokens:read': 'List API tokens (never their secret part)',
  'tokens:write': 'Create, change and delete API tokens',
  'account:read': 'Read the account and its GitHub connection',
  'account:write': 'Disconnect GitHub',
};

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (ALL_SCOPES as readonly string[]).includes(value);
}

/** Scopes in their canonical order, without duplicates. */
export function normaliseScopes(scopes: readonly Scope[]): Scope[] {
  return ALL_SCOPES.filter((s) => scopes.includes(s));
}
