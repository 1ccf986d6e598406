// drizzle-kit reads the schema from src/db/schema and writes SQL migrations into
// migrations/. Generation needs no database; `npm run db:migrate` applies them.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://localhost:5432/flowfix' },
});
