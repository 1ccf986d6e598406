// Schemas of the webhook ingestion routes (v1). The body is not described by a schema on
// purpose: it is taken as raw bytes, verified, and only then parsed.
import { Type } from '@fastify/type-provider-typebox';

export const ErrorResponse = Type.Object({
  error: Type.String(),
  code: Type.String(),
  message: Type.String(),
});

export const ConnectionParams = Type.Object({
  connectionId: Type.String({ description: 'The connection id in the hook URL Flowfix created' }),
});

export const WebhookHeaders = Type.Object({
  'x-github-event': Type.Optional(Type.String({ description: 'Event name, e.g. workflow_run' })),
  'x-github-delivery': Type.Optional(Type.String({ description: 'Delivery GUID (dedupe key)' })),
  'x-hub-signature-256': Type.Optional(
    Type.String({ description: 'sha256=<hex HMAC of the raw body with the hook secret>' }),
  ),
});

export const WebhookAccepted = Type.Object({
  outcome: Type.Union([
    Type.Literal('processed'),
    Type.Literal('ignored'),
    Type.Literal('duplicate'),
  ]),
  reason: Type.Optional(Type.String()),
});

const errors = {
  400: ErrorResponse,
  401: ErrorResponse,
  404: ErrorResponse,
  413: ErrorResponse,
  415: ErrorResponse,
  500: ErrorResponse,
  503: ErrorResponse,
};

const BODY_NOTE =
  "Body: the event payload as application/json, or application/x-www-form-urlencoded with the JSON in `payload` (GitHub's default). Verified with X-Hub-Signature-256 over the raw bytes before parsing. 2xx only after the delivery is committed.";

export const connectionWebhookSchema = {
  tags: ['webhooks'],
  summary: 'Receive a delivery from a repository hook Flowfix created',
  description: BODY_NOTE,
  params: ConnectionParams,
  headers: WebhookHeaders,
  response: { 200: WebhookAccepted, ...errors },
};

export const appWebhookSchema = {
  tags: ['webhooks'],
  summary: 'Receive a delivery from an app-level hook (GitHub App, organisation)',
  description: `${BODY_NOTE} Signed with GITHUB_WEBHOOK_SECRET; routed to every enabled connection of the payload's repository.`,
  headers: WebhookHeaders,
  response: { 200: WebhookAccepted, ...errors },
};
