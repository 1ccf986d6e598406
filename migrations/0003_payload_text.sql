ALTER TABLE "webhook_deliveries" ADD COLUMN "payload_text" text;--> statement-breakpoint
-- Stored payloads: compressed by Postgres and kept in the row where they fit (most
-- webhook payloads compress to 2–4 KB), so recording one is a single heap write, not a
-- heap write plus TOAST table and index writes.
ALTER TABLE "webhook_deliveries" ALTER COLUMN "payload_text" SET STORAGE MAIN;--> statement-breakpoint
-- lz4 compresses several times faster than Postgres's default pglz; a server built
-- without lz4 (or PGlite) keeps its default.
DO $$
BEGIN
  ALTER TABLE "webhook_deliveries" ALTER COLUMN "payload_text" SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  RAISE NOTICE 'lz4 is not available: payload_text keeps the default compression';
END
$$;
