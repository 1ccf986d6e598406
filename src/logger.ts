// Logger options shared by the server and the worker: secrets never reach a log line.
// Redaction covers headers that carry credentials and every field whose name says token.
import type { DestinationStream, LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature"]',
  'req.headers["x-hub-signature-256"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.apiKey',
  '*.api_key',
  '*.key',
  '*.code',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      // Query strings can carry an OAuth code or state: log the path only.
      req: (req: { method: string; url: string; id: string }) => ({
        method: req.method,
        url: req.url.split('?')[0],
        id: req.id,
      }),
    },
  };
}

export type LogDestination = DestinationStream;
