import t from 'tap';
import { randomSecret } from '../../src/crypto/random-secret.ts';

t.test('32 bytes of base64url by default', async (t) => {
  const secret = randomSecret();
  t.match(secret, /^[A-Za-z0-9_-]{43}$/);
  t.equal(Buffer.from(secret, 'base64url').length, 32);
});

t.test('honours the requested size', async (t) => {
  t.equal(Buffer.from(randomSecret(16), 'base64url').length, 16);
  t.equal(Buffer.from(randomSecret(64), 'base64url').length, 64);
  t.equal(Buffer.from(randomSecret(1024), 'base64url').length, 1024);
});

t.test('values are unique', async (t) => {
  const seen = new Set(Array.from({ length: 1000 }, () => randomSecret()));
  t.equal(seen.size, 1000);
});

t.test('refuses sizes that are too small, too large or not integers', async (t) => {
  for (const bytes of [0, -1, 8, 15, 1025, 16.5, Number.NaN]) {
    t.throws(() => randomSecret(bytes), RangeError, `rejects ${bytes}`);
  }
  t.throws(() => randomSecret(8), /bytes must be an integer from 16 to 1024, got 8/);
});
