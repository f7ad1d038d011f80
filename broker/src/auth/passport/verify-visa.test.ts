/**
 * One visa against real loopback key servers. Every fetch is counted, so the tests prove not only
 * that a bad visa is refused but that it was refused before anything was fetched.
 */
import { createHash } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hitsOf, newKey, type SigningKey } from '../test-support';
import { createVisaVerifier, type VisaVerifierOptions } from './verify-visa';
import type { PassportTrustInput } from './trust';
import { expectRefused, nowSec, RA_DOI, SOURCE, startVisaIssuer, type VisaIssuer } from './test-support';

/** Loopback key servers are what the tests have: allow them explicitly, as production never does. */
const LOOPBACK: VisaVerifierOptions = { allowLoopbackHttpJku: true, allowPrivateJkuAddresses: true };

describe('verifyVisa', () => {
  let main: VisaIssuer; // ES256, keys configured out of band (jwksUri) and via jku
  let rsa: VisaIssuer; // RS256, keys only via an allow-listed jku
  let stranger: VisaIssuer; // not trusted at all
  let trust: PassportTrustInput;

  beforeAll(async () => {
    main = await startVisaIssuer();
    rsa = await startVisaIssuer(await newKey('RS256'));
    stranger = await startVisaIssuer();
    trust = {
      visaIssuers: [
        { issuer: main.issuer, jwksUri: main.jwksUrl, jku: [main.jwksUrl] },
        { issuer: rsa.issuer, jku: [`${rsa.issuer}/*`] },
      ],
      sources: [SOURCE],
    };
  });
  afterAll(async () => {
    await Promise.all([main.close(), rsa.close(), stranger.close()]);
  });

  const fresh = (options: VisaVerifierOptions = {}) => createVisaVerifier(trust, { ...LOOPBACK, ...options });
  const resetHits = () => {
    for (const issuer of [main, rsa, stranger]) issuer.hits.clear();
  };

  describe('happy path', () => {
    it('accepts an ES256 visa with keys from the configured jwksUri, and fetches them once', async () => {
      resetHits();
      const verifier = fresh();
      const jwt = await main.visa();
      const visa = await verifier.verifyVisa(jwt);
      expect(visa).toMatchObject({ type: 'ResearcherStatus', value: RA_DOI, source: SOURCE, by: 'so', issuer: main.issuer, subject: 'alice', conditions: null });
      expect(visa.digest).toBe(createHash('sha256').update(jwt).digest('hex'));
      expect(visa.expiresAt).toBeGreaterThan(nowSec());
      await verifier.verifyVisa(await main.visa({ type: 'AffiliationAndRole', value: 'faculty@uni-heidelberg.de' }));
      expect(hitsOf(main, '/jwks')).toBe(1);
    });

    it('accepts an RS256 visa whose allow-listed jku names the keys', async () => {
      resetHits();
      const jwt = await rsa.visa({}, {}, { jku: rsa.jwksUrl });
      const visa = await fresh().verifyVisa(jwt, 'alice');
      expect(visa.issuer).toBe(rsa.issuer);
      expect(hitsOf(rsa, '/jwks')).toBe(1);
    });

    it('reports an absent "by" as null ("unknown")', async () => {
      const jwt = await main.visa({ by: undefined });
      expect((await fresh().verifyVisa(jwt)).by).toBeNull();
    });
  });

  describe('algorithms and key confusion', () => {
    it('refuses alg "none" without fetching anything', async () => {
      resetHits();
      const now = nowSec();
      const jwt = new UnsecuredJWT({ ga4gh_visa_v1: { type: 'ResearcherStatus', value: RA_DOI, source: SOURCE, asserted: now } })
        .setIssuer(main.issuer)
        .setSubject('alice')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .encode();
      await expectRefused(fresh().verifyVisa(jwt), 'unsupported_alg', jwt);
      expect(hitsOf(main, '/jwks')).toBe(0);
    });

    it('refuses HS256 keyed with the issuer\'s public key (key confusion) without fetching anything', async () => {
      resetHits();
      const publicKey = (await importJWK(main.published[0]!.publicJwk, 'ES256')) as CryptoKey;
      const secret = new TextEncoder().encode(await exportSPKI(publicKey));
      const now = nowSec();
      const jwt = await new SignJWT({ ga4gh_visa_v1: { type: 'ResearcherStatus', value: RA_DOI, source: SOURCE, asserted: now } })
        .setProtectedHeader({ alg: 'HS256', kid: main.published[0]!.kid, typ: 'vnd.ga4gh.visa+jwt' })
        .setIssuer(main.issuer)
        .setSubject('alice')
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(secret);
      await expectRefused(fresh().verifyVisa(jwt), 'unsupported_alg', jwt);
      expect(hitsOf(main, '/jwks')).toBe(0);
    });

    it.each(['PS256', 'EdDSA'] as const)('refuses %s (GA4GH allows only RS256 and ES256)', async (alg) => {
      const { privateKey, publicKey } = await generateKeyPair(alg);
      const key: SigningKey = { kid: 'k', privateKey, publicJwk: { ...(await exportJWK(publicKey)), alg } };
      const jwt = await main.visa({}, {}, {}, key);
      await expectRefused(fresh().verifyVisa(jwt), 'unsupported_alg', jwt);
    });

    it('refuses a visa carrying its own key in a "jwk" header, without fetching anything', async () => {
      resetHits();
      const attacker = await newKey('ES256');
      const jwt = await main.visa({}, {}, { jwk: attacker.publicJwk, kid: attacker.kid }, attacker);
      const refusal = await expectRefused(fresh().verifyVisa(jwt), 'bad_signature', jwt);
      expect(refusal.message).toContain('"jwk"');
      expect(hitsOf(main, '/jwks')).toBe(0);
    });

    it('refuses an "x5c" header too', async () => {
      const jwt = await main.visa({}, {}, { x5c: ['MIIB'] });
      await expectRefused(fresh().verifyVisa(jwt), 'bad_signature', jwt);
    });

    it('refuses a visa signed by another key under the issuer\'s kid', async () => {
      const attacker = await newKey('ES256');
      const jwt = await main.visa({}, {}, {}, { ...attacker, kid: main.published[0]!.kid });
      await expectRefused(fresh().verifyVisa(jwt), 'bad_signature', jwt);
    });
  });

  describe('issuer and jku trust, before any fetch', () => {
    it('refuses an untrusted issuer and fetches nothing, not even its jku', async () => {
      resetHits();
      const jwt = await stranger.visa({}, {}, { jku: stranger.jwksUrl });
      const refusal = await expectRefused(fresh().verifyVisa(jwt), 'untrusted_issuer', jwt);
      expect(refusal.issuer).toBe(stranger.issuer);
      expect(refusal.type).toBe('ResearcherStatus');
      expect(hitsOf(stranger, '/jwks')).toBe(0);
      expect(hitsOf(stranger, '/.well-known/openid-configuration')).toBe(0);
    });

    it('refuses a jku that is not on the issuer\'s allow-list and fetches nothing', async () => {
      resetHits();
      // The attacker's own key server, and another path on the trusted host.
      for (const jku of [stranger.jwksUrl, `${main.issuer}/other-keys`, `${main.jwksUrl}?x=1`, `${main.jwksUrl}#k`]) {
        const jwt = await main.visa({}, {}, { jku });
        await expectRefused(fresh().verifyVisa(jwt), 'jku_not_allowed', jwt);
      }
      expect(hitsOf(stranger, '/jwks')).toBe(0);
      expect(hitsOf(main, '/jwks')).toBe(0);
      expect(hitsOf(main, '/other-keys')).toBe(0);
    });

    it('does not let one issuer use another issuer\'s allow-listed jku', async () => {
      resetHits();
      const jwt = await main.visa({}, {}, { jku: rsa.jwksUrl });
      await expectRefused(fresh().verifyVisa(jwt), 'jku_not_allowed', jwt);
      expect(hitsOf(rsa, '/jwks')).toBe(0);
    });

    it('refuses an allow-listed jku on a private address literal, without connecting', async () => {
      const privateTrust: PassportTrustInput = { visaIssuers: [{ issuer: main.issuer, jku: ['https://10.20.30.40/jwks', 'https://[fd00::1]/jwks', 'https://169.254.169.254/jwks'] }], sources: [SOURCE] };
      const verifier = createVisaVerifier(privateTrust, { allowLoopbackHttpJku: true });
      for (const jku of ['https://10.20.30.40/jwks', 'https://[fd00::1]/jwks', 'https://169.254.169.254/jwks']) {
        const jwt = await main.visa({}, {}, { jku });
        // Refused for the address itself ("non-public"), not after a connection attempt timed out.
        const refusal = await expectRefused(verifier.verifyVisa(jwt), 'jku_not_allowed', jwt);
        expect(refusal.message).toMatch(/non-public/);
      }
    });

    it('refuses an allow-listed jku whose name resolves to a private address, and the server sees nothing', async () => {
      resetHits();
      const viaName = main.jwksUrl.replace('127.0.0.1', 'localhost');
      const privateTrust: PassportTrustInput = { visaIssuers: [{ issuer: main.issuer, jku: [viaName, main.jwksUrl] }], sources: [SOURCE] };
      // http is allowed for loopback here; private addresses are not (the production default).
      const verifier = createVisaVerifier(privateTrust, { allowLoopbackHttpJku: true });
      const byName = await main.visa({}, {}, { jku: viaName });
      const refusal = await expectRefused(verifier.verifyVisa(byName), 'jku_not_allowed', byName);
      expect(refusal.message).toMatch(/resolves to a non-public/);
      const byLiteral = await main.visa({}, {}, { jku: main.jwksUrl });
      await expectRefused(verifier.verifyVisa(byLiteral), 'jku_not_allowed', byLiteral);
      expect(hitsOf(main, '/jwks')).toBe(0);
    });

    it('refuses a plain-http jku unless explicitly allowed for loopback', async () => {
      resetHits();
      const jwt = await main.visa({}, {}, { jku: main.jwksUrl });
      await expectRefused(createVisaVerifier(trust, { allowPrivateJkuAddresses: true }).verifyVisa(jwt), 'jku_not_allowed', jwt);
      const remote: PassportTrustInput = { visaIssuers: [{ issuer: main.issuer, jku: ['http://keys.example.org/jwks'] }], sources: [SOURCE] };
      const plain = await main.visa({}, {}, { jku: 'http://keys.example.org/jwks' });
      await expectRefused(createVisaVerifier(remote, LOOPBACK).verifyVisa(plain), 'jku_not_allowed', plain);
      expect(hitsOf(main, '/jwks')).toBe(0);
    });

    it('refuses a visa without jku from an issuer that has no configured jwksUri', async () => {
      const jwt = await rsa.visa();
      await expectRefused(fresh().verifyVisa(jwt), 'keys_unavailable', jwt);
    });

    it('reports keys_unavailable when the key server fails, and recovers', async () => {
      main.jwksMode = 'error';
      const jwt = await main.visa();
      const verifier = fresh();
      await expectRefused(verifier.verifyVisa(jwt), 'keys_unavailable', jwt);
      main.jwksMode = 'ok';
      await expect(verifier.verifyVisa(jwt)).resolves.toMatchObject({ type: 'ResearcherStatus' });
    });
  });

  describe('key rotation', () => {
    it('refetches once on an unknown kid, then accepts the rotated key', async () => {
      resetHits();
      const verifier = fresh({ jwksCooldownMs: 0 });
      await verifier.verifyVisa(await main.visa());
      expect(hitsOf(main, '/jwks')).toBe(1);
      const old = main.published;
      const rotated = await newKey('ES256');
      main.published = [rotated];
      try {
        const jwt = await main.visa({}, {}, {}, rotated);
        await expect(verifier.verifyVisa(jwt)).resolves.toMatchObject({ issuer: main.issuer });
        expect(hitsOf(main, '/jwks')).toBe(2);
        await verifier.verifyVisa(await main.visa({}, {}, {}, rotated));
        expect(hitsOf(main, '/jwks')).toBe(2);
      } finally {
        main.published = old;
      }
    });

    it('does not refetch for unknown kids within the cooldown', async () => {
      resetHits();
      const verifier = fresh({ jwksCooldownMs: 60_000 });
      await verifier.verifyVisa(await main.visa());
      const unknown = await newKey('ES256');
      for (let i = 0; i < 3; i++) {
        const jwt = await main.visa({}, {}, {}, unknown);
        await expectRefused(verifier.verifyVisa(jwt), 'bad_signature', jwt);
      }
      expect(hitsOf(main, '/jwks')).toBe(1);
    });
  });

  describe('times, with the clock skew on both sides', () => {
    const skew = 60;
    it('refuses an expired visa and accepts one expired within the skew', async () => {
      const now = nowSec();
      const expired = await main.visa({}, { iat: now - 1000, exp: now - skew - 5 });
      await expectRefused(fresh().verifyVisa(expired), 'expired', expired);
      await expect(fresh().verifyVisa(await main.visa({}, { iat: now - 1000, exp: now - skew + 10 }))).resolves.toBeTruthy();
    });

    it('refuses nbf in the future beyond the skew, accepts it within', async () => {
      const now = nowSec();
      const early = await main.visa({}, { nbf: now + skew + 30 });
      await expectRefused(fresh().verifyVisa(early), 'not_yet_valid', early);
      await expect(fresh().verifyVisa(await main.visa({}, { nbf: now + skew - 10 }))).resolves.toBeTruthy();
    });

    it('refuses iat in the future beyond the skew, accepts it within', async () => {
      const now = nowSec();
      const future = await main.visa({}, { iat: now + skew + 30 });
      await expectRefused(fresh().verifyVisa(future), 'issued_in_future', future);
      await expect(fresh().verifyVisa(await main.visa({}, { iat: now + skew - 10 }))).resolves.toBeTruthy();
    });

    it('refuses "asserted" in the future beyond the skew, accepts it within', async () => {
      const now = nowSec();
      const future = await main.visa({ asserted: now + skew + 30 });
      await expectRefused(fresh().verifyVisa(future), 'asserted_in_future', future);
      await expect(fresh().verifyVisa(await main.visa({ asserted: now + skew - 10 }))).resolves.toBeTruthy();
    });

    it('uses the injected clock', async () => {
      const jwt = await main.visa();
      await expectRefused(fresh({ now: () => Date.now() + 2 * 3600_000 }).verifyVisa(jwt), 'expired', jwt);
      await expectRefused(fresh({ now: () => Date.now() - 3600_000 }).verifyVisa(jwt), 'issued_in_future', jwt);
    });

    it('refuses a Visa Access Token (scope openid) older than one hour', async () => {
      const now = nowSec();
      const old = await main.visa({}, { scope: 'openid ga4gh_passport_v1', iat: now - 2 * 3600 });
      await expectRefused(fresh().verifyVisa(old), 'expired', old);
      await expect(fresh().verifyVisa(await main.visa({}, { scope: 'openid', iat: now - 600 }))).resolves.toBeTruthy();
    });
  });

  describe('claims', () => {
    it.each([
      ['no sub', {}, { sub: undefined }],
      ['no exp', {}, { exp: undefined }],
      ['no iat', {}, { iat: undefined }],
      ['no visa object', undefined, {}],
      ['no asserted', { asserted: undefined }, {}],
      ['no source', { source: undefined }, {}],
      ['no type', { type: undefined }, {}],
      ['numeric value', { value: 42 }, {}],
    ] as const)('refuses a visa with %s as malformed, before fetching keys', async (_what, object, claims) => {
      resetHits();
      const jwt = object === undefined ? await main.sign({ exp: nowSec() + 600 }, undefined, { typ: 'vnd.ga4gh.visa+jwt' }) : await main.visa(object, claims);
      await expectRefused(fresh().verifyVisa(jwt), 'malformed', jwt);
      expect(hitsOf(main, '/jwks')).toBe(0);
    });

    it('refuses a Passport JWT presented as a visa', async () => {
      const jwt = await main.visa({}, {}, { typ: 'vnd.ga4gh.passport+jwt' });
      await expectRefused(fresh().verifyVisa(jwt), 'malformed', jwt);
    });

    it('refuses text that is not a JWT', async () => {
      for (const junk of ['', 'not-a-jwt', 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9.e30']) {
        const err = await fresh().verifyVisa(junk).catch((e: unknown) => e);
        expect((err as { refusal: { reason: string } }).refusal.reason).toBe('malformed');
      }
    });

    it('refuses an untrusted source', async () => {
      const jwt = await main.visa({ source: 'https://dac.example.org/untrusted' });
      const refusal = await expectRefused(fresh().verifyVisa(jwt), 'untrusted_source', jwt);
      expect(refusal.message).toContain('https://dac.example.org/untrusted');
    });

    it('compares sources case-sensitively, as URL claims must be', async () => {
      const jwt = await main.visa({ source: SOURCE.toUpperCase() });
      await expectRefused(fresh().verifyVisa(jwt), 'untrusted_source', jwt);
    });

    it('refuses a visa of another subject when one is expected', async () => {
      const jwt = await main.visa({}, { sub: 'bob' });
      await expectRefused(fresh().verifyVisa(jwt, 'alice'), 'unlinked_identity', jwt);
    });

    it('refuses a LinkedIdentities visa whose value cannot be parsed', async () => {
      const jwt = await main.visa({ type: 'LinkedIdentities', value: 'no-comma-here' });
      await expectRefused(fresh().verifyVisa(jwt), 'malformed', jwt);
    });

    it('refuses a 1 MB visa unread and without fetching', async () => {
      resetHits();
      const huge = await main.visa({ value: 'x'.repeat(1024 * 1024) });
      // Unread: no issuer could be taken from it; unfetched: the key set was never asked for.
      const refusal = await expectRefused(fresh().verifyVisa(huge), 'too_large', huge);
      expect(refusal.issuer).toBeNull();
      expect(hitsOf(main, '/jwks')).toBe(0);
    });
  });

  describe('conditions shape', () => {
    it('returns understood conditions for evaluation at passport level', async () => {
      const jwt = await main.visa({ type: 'ControlledAccessGrants', value: 'https://ega.example/EGAD1', by: 'dac', conditions: [[{ type: 'AffiliationAndRole', value: 'pattern:faculty@*' }]] });
      const visa = await fresh().verifyVisa(jwt);
      expect(visa.conditions).toEqual([[{ type: 'AffiliationAndRole', claims: [{ claim: 'value', matcher: { kind: 'pattern', operand: 'faculty@*' } }] }]]);
    });

    it('treats an empty conditions list as no conditions', async () => {
      expect((await fresh().verifyVisa(await main.visa({ conditions: [] }))).conditions).toBeNull();
    });

    it.each([
      ['not a list', { type: 'AffiliationAndRole', value: 'const:x' }],
      ['a flat list of clauses', [{ type: 'AffiliationAndRole', value: 'const:x' }]],
      ['an empty alternative', [[]]],
      ['a clause without type', [[{ value: 'const:x' }]]],
      ['a clause with only type', [[{ type: 'AffiliationAndRole' }]]],
      ['a nested condition', [[{ type: 'AffiliationAndRole', conditions: 'const:x' }]]],
      ['a timestamp claim', [[{ type: 'AffiliationAndRole', asserted: 'const:1' }]]],
      ['an unknown claim', [[{ type: 'AffiliationAndRole', colour: 'const:blue' }]]],
      ['a non-string value', [[{ type: 'AffiliationAndRole', value: 7 }]]],
      ['a value without match type', [[{ type: 'AffiliationAndRole', value: 'faculty@x' }]]],
    ])('refuses conditions with %s as conditions_unsupported', async (_what, conditions) => {
      const jwt = await main.visa({ type: 'ControlledAccessGrants', value: 'https://ega.example/EGAD1', by: 'dac', conditions });
      await expectRefused(fresh().verifyVisa(jwt), 'conditions_unsupported', jwt);
    });
  });
});
