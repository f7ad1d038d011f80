import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretKey, maskSecrets } from './redact';

const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6ImFiYyJ9.eyJzdWIiOiJhbGljZSIsImlzcyI6Imh0dHBzOi8vaWRwLmV4YW1wbGUub3JnIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2Nzg5MA';

describe('maskSecrets', () => {
  it.each([
    ['a JWT anywhere in a sentence', `token ${JWT} was expired`, JWT],
    ['a JWE (five parts)', `got eyJhbGciOiJSU0EtT0FFUCJ9.a2V5a2V5a2V5.aXZpdml2.Y2lwaGVy.dGFndGFn here`, 'eyJhbGciOiJSU0EtT0FFUCJ9'],
    ['a Bearer header', 'Authorization: Bearer abc123.def-456_ghi', 'abc123.def-456_ghi'],
    ['a long opaque bearer of letters only', 'bearer AbCdEfGhIjKlMnOpQrStUvWx', 'AbCdEfGhIjKlMnOpQrStUvWx'],
    ['a password in a URL', 'fetching https://alice:s3cr3t-pw@example.org/x.vcf.gz failed', 's3cr3t-pw'],
    ['a query-string token', 'GET /cb?code=1&access_token=opaqueVALUE&x=1', 'opaqueVALUE'],
    ['a password= pair', 'login with password=hunter2 refused', 'hunter2'],
    ['a long base64 key', 'key Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A= loaded', 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A='],
  ])('masks %s', (_name, text, secret) => {
    const out = maskSecrets(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it.each([
    ['a SHA-256 checksum', 'sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
    ['a run id', 'run 0b8f2c1e-7a5d-4c3b-9e2f-1a2b3c4d5e6f canceled'],
    ['a broker path', '/ga4gh/drs/v1/objects/0b8f2c1e-7a5d-4c3b-9e2f-1a2b3c4d5e6f/access/https'],
    ['a prose mention of bearer tokens', 'This API needs an access token. Send it as "Authorization: Bearer <token>".'],
    ['the words Bearer authentication', 'Bearer authentication failed: token expired'],
    ['a token refusal reason', 'The access token has expired (exp 2025-01-01T00:00:00Z).'],
  ])('keeps %s', (_name, text) => {
    expect(maskSecrets(text)).toBe(text);
  });
});

describe('isSecretKey', () => {
  it.each(['password', 'client_secret', 'accessToken', 'refresh_token', 'api-key', 'x-api-key', 'Authorization', 'cookie', 'apiKey'])(
    '%s names a secret',
    (key) => expect(isSecretKey(key)).toBe(true),
  );
  it.each(['token_type', 'reason', 'credential_id', 'sha256', 'run_id', 'tokens_seen', 'issuer'])('%s does not', (key) =>
    expect(isSecretKey(key)).toBe(false),
  );
});
