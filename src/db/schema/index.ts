// Every table, exported for Drizzle and drizzle-kit.
export * from './accounts.ts';
export * from './repositories.ts';
export * from './workflows.ts';
export * from './incidents.ts';
export * from './outbox.ts';
