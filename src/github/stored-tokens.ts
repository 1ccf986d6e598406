// How GitHub tokens sit in oauth_connections: secret-box ciphertext bound to the owning
// user and column, so a value copied to another user's row fails to decrypt.
import { secretContext } from '../crypto/encrypted-columns.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { OAuthConnectionRow, StoredTokens } from '../db/stores/oauth-connections-store.ts';
import type { TokenSet } from './oauth-token.ts';

const accessCtx = (userId: string) =>
  secretContext('oauth_connections', 'access_token_enc', userId);
const refreshCtx = (userId: string) =>
  secretContext('oauth_connections', 'refresh_token_enc', userId);

export function sealTokens(box: SecretBox, userId: string, set: TokenSet): StoredTokens {
  return {
    accessTokenEnc: box.encrypt(set.accessToken, accessCtx(userId)),
    refreshTokenEnc:
      set.refreshToken === null ? null : box.encrypt(set.refreshToken, refreshCtx(userId)),
    accessTokenExpiresAt: set.accessTokenExpiresAt,
    refreshTokenExpiresAt: set.refreshToken === null ? null : set.refreshTokenExpiresAt,
  };
}

/** Throws DecryptError when the stored value was altered or belongs elsewhere. */
export function openAccessToken(box: SecretBox, row: OAuthConnectionRow): string {
  return box.decrypt(row.accessTokenEnc, accessCtx(row.userId));
}

export function openRefreshToken(box: SecretBox, row: OAuthConnectionRow): string | null {
  return row.refreshTokenEnc === null
    ? null
    : box.decrypt(row.refreshTokenEnc, refreshCtx(row.userId));
}
