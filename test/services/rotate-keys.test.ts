import { randomUUID } from 'node:crypto';
import { getTableColumns } from 'drizzle-orm';
import t from 'tap';
import { generateKeyringString, parseKeyring } from '../../src/crypto/keyring.ts';
import { ENCRYPTED_COLUMNS, secretContext } from '../../src/crypto/encrypted-columns.ts';
import { createSecretBox } from '../../src/crypto/secret-box.ts';
import * as schema from '../../src/db/schema/index.ts';
import {
  oauthConnections,
  providerKeys,
  repositoryConnections,
  users,
} from '../../src/db/schema/index.ts';
import { rotateKeys } from '../../src/services/rotate-keys.ts';
import { testDatabase } from '../helper.ts';

t.test('every *_enc column of the schema is registered', async (t) => {
  const found: string[] = [];
  for (const value of Object.values(schema)) {
    if (value && typeof value === 'object' && Symbol.for('drizzle:Name') in value) {
      const table = (value as unknown as Record<symbol, string>)[Symbol.for('drizzle:Name')]!;
      for (const col of Object.values(getTableColumns(value as never)) as Array<{ name: string }>) {
        if (col.name.endsWith('_enc')) found.push(`${table}.${col.name}`);
      }
    }
  }
  t.same(found.sort(), ENCRYPTED_COLUMNS.map((c) => `${c.table}.${c.column}`).sort());
  t.throws(() => secretContext('provider_keys', 'label', 'x'), /not a registered encrypted column/);
});

t.test('rotation re-encrypts every value under the new primary key', async (t) => {
  const { db } = await testDatabase();
  const oldRing = generateKeyringString('old');
  const oldBox = createSecretBox(parseKeyring(oldRing));
  const newBox = createSecretBox(parseKeyring(`${generateKeyringString('new')},${oldRing}`));

  const [user] = await db.insert(users).values({ githubId: 1, login: 'octocat' }).returning();
  const userId = user!.id;
  const ctx = (table: Parameters<typeof secretContext>[0], column: string, owner: string) =>
    secretContext(table, column, owner);
  await db.insert(oauthConnections).values({
    userId,
    providerUserId: 1,
    accessTokenEnc: oldBox.encrypt(
      'ghu_access',
      ctx('oauth_connections', 'access_token_enc', userId),
    ),
    refreshTokenEnc: oldBox.encrypt(
      'ghr_refresh',
      ctx('oauth_connections', 'refresh_token_enc', userId),
    ),
  });
  const repoIds = Array.from({ length: 7 }, () => randomUUID());
  for (const [i, id] of repoIds.entries()) {
    await db.insert(repositoryConnections).values({
      id,
      userId,
      githubRepoId: 100 + i,
      fullName: `octocat/r${i}`,
      webhookSecretEnc: oldBox.encrypt(
        `secret-${i}`,
        ctx('repository_connections', 'webhook_secret_enc', id),
      ),
    });
  }
  const keyId = randomUUID();
  await db.insert(providerKeys).values({
    id: keyId,
    userId,
    provider: 'anthropic',
    last4: 'abcd',
    // Copied from another row: cannot be decrypted, must be reported, not "fixed".
    keyEnc: oldBox.encrypt('sk-ant-x', ctx('provider_keys', 'key_enc', randomUUID())),
  });

  const reports = await rotateKeys(db, newBox, 3);
  const by = Object.fromEntries(reports.map((r) => [r.column, r]));
  t.match(by['oauth_connections.access_token_enc'], { scanned: 1, reencrypted: 1, failed: 0 });
  t.match(by['oauth_connections.refresh_token_enc'], { scanned: 1, reencrypted: 1, failed: 0 });
  t.match(by['repository_connections.webhook_secret_enc'], {
    scanned: 7,
    reencrypted: 7,
    failed: 0,
  });
  t.match(by['repository_connections.previous_webhook_secret_enc'], { scanned: 0 });
  t.match(by['provider_keys.key_enc'], { scanned: 1, reencrypted: 0, failed: 1 });

  const [conn] = await db.select().from(oauthConnections);
  t.equal(newBox.kidOf(conn!.accessTokenEnc), 'new');
  t.equal(
    newBox.decrypt(conn!.accessTokenEnc, ctx('oauth_connections', 'access_token_enc', userId)),
    'ghu_access',
  );
  for (const row of await db.select().from(repositoryConnections)) {
    t.equal(newBox.kidOf(row.webhookSecretEnc), 'new');
    t.match(
      newBox.decrypt(
        row.webhookSecretEnc,
        ctx('repository_connections', 'webhook_secret_enc', row.id),
      ),
      /^secret-/,
    );
  }

  const again = await rotateKeys(db, newBox);
  t.equal(
    again.reduce((n, r) => n + r.reencrypted, 0),
    0,
    'a second run has nothing left to do',
  );
});
