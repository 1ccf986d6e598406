// Sends webhook deliveries exactly as GitHub's Hookshot does (headers, both signatures,
// JSON or form encoding) and loads GitHub's real example payloads from
// @octokit/webhooks-examples. Used by webhook tests and by the fake GitHub's own deliveries.
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { WebhookEventMap, WebhookEventName } from '@octokit/webhooks-types';

/** `sha256=` + hex HMAC of the exact bytes sent, the value of `X-Hub-Signature-256`. */
export function signPayload(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The legacy SHA-1 signature GitHub still sends as `X-Hub-Signature`. */
export function signPayloadSha1(secret: string, body: string | Buffer): string {
  return `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
}

export interface SendWebhookOptions {
  url: string;
  /** Omit to send no signature headers at all, as GitHub does for hooks without a secret. */
  secret?: string;
  event: string;
  /** An object is serialised compactly like GitHub; a string or Buffer is sent byte for byte. */
  payload: object | string | Buffer;
  deliveryId?: string;
  hookId?: number;
  /** `X-GitHub-Hook-Installation-Target-Type` / `-ID`; default: a repository with id 1. */
  target?: { type: 'repository' | 'organization' | 'integration'; id: number };
  /** GitHub's default for new hooks is `form` (`payload=<urlencoded json>`). */
  encoding?: 'json' | 'form';
  /** Replace headers (case-insensitive); `null` removes one, for forged or broken deliveries. */
  headersOverride?: Record<string, string | null>;
  /** GitHub gives a receiver 10 seconds before it records a timeout. */
  timeoutMs?: number;
}

export interface WebhookResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  deliveryId: string;
}

const HOOKSHOT_USER_AGENT = 'GitHub-Hookshot/5b1a2a4';

/** The body bytes GitHub would send for a payload in the given encoding. */
export function encodeWebhookBody(
  payload: object | string | Buffer,
  encoding: 'json' | 'form',
): Buffer {
  const json = Buffer.isBuffer(payload)
    ? payload.toString('utf8')
    : typeof payload === 'string'
      ? payload
      : JSON.stringify(payload);
  if (encoding === 'json') return Buffer.isBuffer(payload) ? payload : Buffer.from(json, 'utf8');
  return Buffer.from(new URLSearchParams({ payload: json }).toString(), 'utf8');
}

export async function sendWebhook(options: SendWebhookOptions): Promise<WebhookResponse> {
  const encoding = options.encoding ?? 'json';
  const body = encodeWebhookBody(options.payload, encoding);
  const deliveryId = options.deliveryId ?? randomUUID();
  const target = options.target ?? { type: 'repository', id: 1 };
  const headers = new Map<string, [string, string]>();
  const set = (name: string, value: string) => headers.set(name.toLowerCase(), [name, value]);
  set('Accept', '*/*');
  set(
    'Content-Type',
    encoding === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
  );
  set('User-Agent', HOOKSHOT_USER_AGENT);
  set('X-GitHub-Delivery', deliveryId);
  set('X-GitHub-Event', options.event);
  set('X-GitHub-Hook-ID', String(options.hookId ?? 1));
  set('X-GitHub-Hook-Installation-Target-ID', String(target.id));
  set('X-GitHub-Hook-Installation-Target-Type', target.type);
  if (options.secret !== undefined) {
    set('X-Hub-Signature', signPayloadSha1(options.secret, body));
    set('X-Hub-Signature-256', signPayload(options.secret, body));
  }
  for (const [name, value] of Object.entries(options.headersOverride ?? {})) {
    if (value === null) headers.delete(name.toLowerCase());
    else set(name, value);
  }
  const response = await fetch(options.url, {
    method: 'POST',
    headers: Object.fromEntries(headers.values()),
    body: new Uint8Array(body),
    // Hookshot does not follow redirects: a 3xx is recorded as the delivery's answer.
    redirect: 'manual',
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    responseHeaders[name] = value;
  });
  return {
    status: response.status,
    headers: responseHeaders,
    body: await response.text(),
    deliveryId,
  };
}

interface ExampleDefinition {
  name: string;
  actions: string[];
  examples: Array<Record<string, unknown>>;
}

let definitions: ExampleDefinition[] | undefined;

export type WebhookExamplePayload<E extends string> = E extends WebhookEventName
  ? WebhookEventMap[E]
  : Record<string, unknown>;

/**
 * GitHub's example payloads for one event (`workflow_run`, `workflow_job`, `pull_request`,
 * `ping`, …), each a fresh deep copy that a test may change. Unknown events throw, so a typo
 * cannot silently produce an empty test.
 */
export function loadWebhookExamples<E extends string>(
  event: E,
): Array<{ action?: string; payload: WebhookExamplePayload<E> }> {
  definitions ??= createRequire(import.meta.url)(
    '@octokit/webhooks-examples',
  ) as ExampleDefinition[];
  const definition = definitions.find((d) => d.name === event);
  if (!definition) {
    throw new Error(`No webhook examples for event "${event}" in @octokit/webhooks-examples`);
  }
  return definition.examples.map((example) => {
    const payload = structuredClone(example) as WebhookExamplePayload<E>;
    const action = typeof example['action'] === 'string' ? example['action'] : undefined;
    return action === undefined ? { payload } : { action, payload };
  });
}
