// Configuration: read once from the environment, validated, typed. The same function
// serves the server, the worker, the CLI commands and drizzle.config.ts. A wrong value
// stops the process with one line naming the variable and how to fix it.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  KeyringError,
  generateKeyringString,
  parseKeyring,
  type Keyring,
} from './crypto/keyring.ts';
import { randomSecret } from './crypto/random-secret.ts';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  /** postgres:// URL, or undefined for the embedded PGlite database under dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  migrateOnStart: boolean;
  /** redis:// URL, or undefined for the in-process job runner. */
  redisUrl: string | undefined;
  /** Run the job processors inside the API process too (always true without Redis). */
  runWorkers: boolean;
  /**
   * Prefix of Flowfix's keys in Redis (BullMQ `{prefix}:…`, rate limits `{prefix}-rl:…`):
   * processes that share it share their jobs and their rate-limit counters.
   */
  queuePrefix: string;
  keyring: Keyring;
  sessionSecret: string;
  /** Where generated local secrets came from, for the start-up log. */
  generatedSecretsFile: string | undefined;
  github: {
    clientId: string | undefined;
    clientSecret: string | undefined;
    apiUrl: string;
    webUrl: string;
    webhookSecret: string | undefined;
    oauthScopes: string[];
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  trustProxy: boolean | number | string;
  webhookBodyLimit: number;
  webhookPayloadRetentionDays: number;
  backfillRuns: number;
  rateLimitPerMinute: number;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const KEY_HINT = `generate one with: node -e "console.log('k1:' + require('crypto').randomBytes(32).toString('base64'))"`;
const SESSION_HINT = `generate one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback: string | undefined, protocols: string[]) {
  const raw = str(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL (${protocols.join(' or ')}), got something else`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(
      name,
      `must start with ${protocols.join(' or ')}, got ${parsed.protocol}//`,
    );
  }
  return raw.replace(/\/+$/, '');
}

function trustProxy(env: Env): boolean | number | string {
  const raw = str(env, 'TRUST_PROXY');
  if (raw === undefined) return false;
  if (/^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
  if (/^\d+$/.test(raw)) return Number(raw);
  if (/^[0-9a-fA-F.:/,\s]+$/.test(raw)) return raw;
  throw new ConfigError(
    'TRUST_PROXY',
    'must be true, false, a hop count, or a comma-separated list of proxy addresses/CIDRs',
  );
}

interface LocalSecrets {
  encryptionKeys: string;
  sessionSecret: string;
}

/**
 * With the embedded database and no keys given, secrets are generated once and kept
 * beside the data (mode 0600), so a restart can still decrypt what it stored.
 */
function localSecrets(dataDir: string): { secrets: LocalSecrets; file: string } {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSecrets>;
      if (typeof parsed.encryptionKeys === 'string' && typeof parsed.sessionSecret === 'string') {
        return { secrets: parsed as LocalSecrets, file };
      }
    } catch {
      // fall through to the error below
    }
    throw new ConfigError(
      'DATA_DIR',
      `${file} is unreadable or damaged; restore it or set ENCRYPTION_KEYS and SESSION_SECRET`,
    );
  }
  const secrets = {
    encryptionKeys: generateKeyringString('local1'),
    sessionSecret: randomSecret(32),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { secrets, file };
}

export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 3000, 0, 65535);
  const host = str(env, 'HOST') ?? '127.0.0.1';
  const publicUrl = url(env, 'PUBLIC_URL', `http://localhost:${port}`, ['http:', 'https:'])!;
  const databaseUrl = url(env, 'DATABASE_URL', undefined, ['postgres:', 'postgresql:']);
  const redisUrl = url(env, 'REDIS_URL', undefined, ['redis:', 'rediss:']);
  const dataDir = resolve(str(env, 'DATA_DIR') ?? '.data');
  const queuePrefix = str(env, 'QUEUE_PREFIX') ?? 'ffx';
  if (!/^[A-Za-z0-9_.:{}-]{1,64}$/.test(queuePrefix)) {
    throw new ConfigError(
      'QUEUE_PREFIX',
      `must be 1 to 64 letters, digits or _ . : { } -, got "${queuePrefix.slice(0, 80)}"`,
    );
  }

  const logLevel = (str(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(
      'LOG_LEVEL',
      `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`,
    );
  }

  let encryptionKeys = str(env, 'ENCRYPTION_KEYS');
  let sessionSecret = str(env, 'SESSION_SECRET');
  let generatedSecretsFile: string | undefined;
  if (encryptionKeys === undefined || sessionSecret === undefined) {
    if (databaseUrl !== undefined) {
      const missing = encryptionKeys === undefined ? 'ENCRYPTION_KEYS' : 'SESSION_SECRET';
      const hint = missing === 'ENCRYPTION_KEYS' ? KEY_HINT : SESSION_HINT;
      throw new ConfigError(missing, `is required when DATABASE_URL is set; ${hint}`);
    }
    const local = localSecrets(dataDir);
    encryptionKeys ??= local.secrets.encryptionKeys;
    sessionSecret ??= local.secrets.sessionSecret;
    generatedSecretsFile = local.file;
  }
  let keyring: Keyring;
  try {
    keyring = parseKeyring(encryptionKeys);
  } catch (err) {
    if (err instanceof KeyringError)
      throw new ConfigError(
        'ENCRYPTION_KEYS',
        err.message.replace(/^Invalid ENCRYPTION_KEYS:\s*/, ''),
      );
    throw err;
  }
  if (sessionSecret.length < 32) {
    throw new ConfigError('SESSION_SECRET', `must be at least 32 characters; ${SESSION_HINT}`);
  }

  const clientId = str(env, 'GITHUB_CLIENT_ID');
  const clientSecret = str(env, 'GITHUB_CLIENT_SECRET');
  if ((clientId === undefined) !== (clientSecret === undefined)) {
    const missing = clientId === undefined ? 'GITHUB_CLIENT_ID' : 'GITHUB_CLIENT_SECRET';
    throw new ConfigError(
      missing,
      'must be set together with its pair (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET), from your GitHub OAuth or GitHub App settings',
    );
  }
  const webhookSecret = str(env, 'GITHUB_WEBHOOK_SECRET');
  if (webhookSecret !== undefined && webhookSecret.length < 16) {
    throw new ConfigError(
      'GITHUB_WEBHOOK_SECRET',
      'must be at least 16 characters (use a random value)',
    );
  }
  const scopes = (str(env, 'GITHUB_OAUTH_SCOPES') ?? 'repo read:user admin:repo_hook')
    .split(/[\s,]+/)
    .filter(Boolean);
  if (scopes.includes('workflow')) {
    throw new ConfigError(
      'GITHUB_OAUTH_SCOPES',
      'must not include "workflow": Flowfix never edits workflow files',
    );
  }

  return {
    port,
    host,
    publicUrl,
    databaseUrl,
    dataDir,
    migrateOnStart: bool(env, 'DB_MIGRATE_ON_START', true),
    redisUrl,
    runWorkers: redisUrl === undefined ? true : bool(env, 'RUN_WORKERS', true),
    queuePrefix,
    keyring,
    sessionSecret,
    generatedSecretsFile,
    github: {
      clientId,
      clientSecret,
      apiUrl: url(env, 'GITHUB_API_URL', 'https://api.github.com', ['http:', 'https:'])!,
      webUrl: url(env, 'GITHUB_WEB_URL', 'https://github.com', ['http:', 'https:'])!,
      webhookSecret,
      oauthScopes: scopes,
    },
    logLevel: logLevel as Config['logLevel'],
    trustProxy: trustProxy(env),
    webhookBodyLimit: int(env, 'WEBHOOK_BODY_LIMIT', 25 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    webhookPayloadRetentionDays: int(env, 'WEBHOOK_PAYLOAD_RETENTION_DAYS', 14, 0, 3650),
    backfillRuns: int(env, 'BACKFILL_RUNS', 100, 0, 1000),
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
  };
}

/** The variables loadConfig reads, for .env.example and the docker-compose check. */
export const CONFIG_VARIABLES = [
  'PORT',
  'HOST',
  'PUBLIC_URL',
  'DATABASE_URL',
  'DATA_DIR',
  'DB_MIGRATE_ON_START',
  'REDIS_URL',
  'RUN_WORKERS',
  'QUEUE_PREFIX',
  'ENCRYPTION_KEYS',
  'SESSION_SECRET',
  'GITHUB_CLIENT_ID',
  'GITHUB_CLIENT_SECRET',
  'GITHUB_API_URL',
  'GITHUB_WEB_URL',
  'GITHUB_WEBHOOK_SECRET',
  'GITHUB_OAUTH_SCOPES',
  'LOG_LEVEL',
  'TRUST_PROXY',
  'WEBHOOK_BODY_LIMIT',
  'WEBHOOK_PAYLOAD_RETENTION_DAYS',
  'BACKFILL_RUNS',
  'RATE_LIMIT_PER_MINUTE',
] as const;
