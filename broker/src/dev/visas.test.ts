import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { createVisaIssuer, devVisaUrls, isVisaSigningKey, newVisaSigningKey, publicJwk, VISA_JWT_TYPE } from './visas';

describe('dev visa issuer', () => {
  it('derives its URLs from the OP issuer', () => {
    expect(devVisaUrls('http://127.0.0.1:8080/oidc')).toMatchObject({
      visaIssuer: 'http://127.0.0.1:8080/oidc/visas',
      jku: 'http://127.0.0.1:8080/oidc/visa-jwks',
      sources: { signingOfficial: 'http://127.0.0.1:8080/oidc/sources/demo-so', dac: 'http://127.0.0.1:8080/oidc/sources/demo-dac' },
    });
  });

  it('signs Visa Document Tokens with jku, kid and typ, valid one hour', async () => {
    const issuer = await createVisaIssuer({ opIssuer: 'http://127.0.0.1:8080/oidc', keys: [await newVisaSigningKey()] });
    const [visa] = await issuer.sign(
      'alice',
      [{ type: 'ResearcherStatus', asserted: 1_700_000_000, value: 'https://doi.org/10.1038/s41431-018-0219-y', source: 'https://so.example', by: 'so' }],
      1_700_000_100,
    );
    const header = decodeProtectedHeader(visa!);
    expect(header).toEqual({ alg: 'ES256', typ: VISA_JWT_TYPE, jku: issuer.jku, kid: issuer.jwks.keys[0]!.kid });
    const { payload } = await jwtVerify(visa!, createLocalJWKSet(issuer.jwks), {
      issuer: issuer.visaIssuer,
      subject: 'alice',
      typ: VISA_JWT_TYPE,
      currentDate: new Date(1_700_000_200_000),
    });
    expect(payload).toMatchObject({
      iat: 1_700_000_100,
      exp: 1_700_003_700,
      jti: expect.any(String),
      ga4gh_visa_v1: { type: 'ResearcherStatus', asserted: 1_700_000_000, value: 'https://doi.org/10.1038/s41431-018-0219-y', source: 'https://so.example', by: 'so' },
    });
    expect(payload).not.toHaveProperty('scope');
  });

  it('publishes public keys only', async () => {
    const issuer = await createVisaIssuer({ opIssuer: 'http://127.0.0.1:8080/oidc', keys: [await newVisaSigningKey()] });
    for (const key of issuer.jwks.keys) expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });

  it('takes private P-256 keys only', async () => {
    expect(isVisaSigningKey(await newVisaSigningKey())).toBe(true);
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey);
    expect(isVisaSigningKey(rsa)).toBe(false);
    expect(isVisaSigningKey(publicJwk(await newVisaSigningKey()))).toBe(false);
    await expect(createVisaIssuer({ opIssuer: 'http://x/oidc', keys: [rsa] })).rejects.toThrow(/ES256/);
    await expect(createVisaIssuer({ opIssuer: 'http://x/oidc', keys: [] })).rejects.toThrow(/ES256/);
  });
});
