/**
 * Whole passports against real loopback issuers: identities (LinkedIdentities), conditions
 * evaluated across visas, expiry, and the Passport JWT of a trusted broker.
 */
import { UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hitsOf, newKey } from '../test-support';
import { evaluatePassport, verifyPassportToken } from './passport';
import { PassportRefusedError } from './refusal';
import { createVisaVerifier, type VisaVerifier } from './verify-visa';
import type { PassportTrustInput } from './trust';
import type { PassportResult, VisaRefusalReason } from './types';
import { expectNoTokenText, expectRefused, nowSec, SOURCE, startVisaIssuer, UNI, type VisaIssuer } from './test-support';

const enc = encodeURIComponent;
const DATASET = 'https://ega-archive.org/datasets/EGAD00001000001';

describe('evaluatePassport', () => {
  let a: VisaIssuer; // the broker, also a visa issuer (ES256)
  let b: VisaIssuer; // another visa issuer, where alice is "alice-at-b" (RS256)
  let stranger: VisaIssuer;
  let trust: PassportTrustInput;
  let verifier: VisaVerifier;
  let alice: { issuer: string; subject: string };

  beforeAll(async () => {
    a = await startVisaIssuer();
    b = await startVisaIssuer(await newKey('RS256'));
    stranger = await startVisaIssuer();
    trust = {
      brokers: [{ issuer: a.issuer, jwksUri: a.jwksUrl }],
      visaIssuers: [
        { issuer: a.issuer, jwksUri: a.jwksUrl },
        { issuer: b.issuer, jwksUri: b.jwksUrl },
      ],
      sources: [SOURCE, UNI],
    };
    verifier = createVisaVerifier(trust, { allowLoopbackHttpJku: true, allowPrivateJkuAddresses: true });
    alice = { issuer: a.issuer, subject: 'alice' };
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close(), stranger.close()]);
  });

  const affiliation = (by = 'so', sub = 'alice', issuer: VisaIssuer = a) =>
    issuer.visa({ type: 'AffiliationAndRole', value: 'faculty@uni-heidelberg.de', source: UNI, by }, { sub });
  const grant = (conditions: unknown, sub = 'alice') =>
    a.visa({ type: 'ControlledAccessGrants', value: DATASET, source: SOURCE, by: 'dac', conditions }, { sub });
  const reasons = (result: PassportResult): VisaRefusalReason[] => result.refused.map((r) => r.reason).sort();
  const types = (result: PassportResult): string[] => result.visas.map((v) => v.type).sort();

  it('keeps the valid visas, collects every refusal, and expires with the earliest visa', async () => {
    const now = nowSec();
    const early = await a.visa({}, { exp: now + 900 });
    const late = await affiliation();
    const expired = await a.visa({}, { iat: now - 7200, exp: now - 3600 });
    const untrusted = await stranger.visa();
    const unsigned = new UnsecuredJWT({ ga4gh_visa_v1: { type: 'ResearcherStatus' } }).setIssuer(a.issuer).setSubject('alice').encode();
    const jwts = [early, late, expired, untrusted, unsigned, 'garbage'];
    const result = await evaluatePassport(jwts, alice, verifier);
    expect(types(result)).toEqual(['AffiliationAndRole', 'ResearcherStatus']);
    expect(reasons(result)).toEqual(['expired', 'malformed', 'unsupported_alg', 'untrusted_issuer']);
    expect(result.validUntil).toBe(now + 900);
    expect(result.subject).toEqual(alice);
    for (const refusal of result.refused) for (const jwt of jwts) expectNoTokenText(refusal, jwt);
    // The result never holds a token either.
    const serialised = JSON.stringify(result);
    for (const jwt of jwts.filter((j) => j.length > 20)) for (const part of jwt.split('.').filter((p) => p.length > 8)) expect(serialised).not.toContain(part);
  });

  it('has no validUntil when no visa is accepted', async () => {
    const result = await evaluatePassport([await stranger.visa()], alice, verifier);
    expect(result.visas).toEqual([]);
    expect(result.validUntil).toBeNull();
  });

  it('refuses visas beyond maxVisas unread', async () => {
    const jwts = await Promise.all([a.visa(), a.visa(), a.visa()]);
    const result = await evaluatePassport(jwts, alice, verifier, { maxVisas: 2 });
    expect(result.visas).toHaveLength(2);
    expect(reasons(result)).toEqual(['too_large']);
  });

  describe('identities', () => {
    it('refuses a visa of another subject replayed into the passport', async () => {
      const bobs = await a.visa({}, { sub: 'bob' });
      const result = await evaluatePassport([await affiliation(), bobs], alice, verifier);
      expect(types(result)).toEqual(['AffiliationAndRole']);
      expect(result.refused).toHaveLength(1);
      expect(result.refused[0]).toMatchObject({ reason: 'unlinked_identity', issuer: a.issuer, type: 'ResearcherStatus' });
      expectNoTokenText(result.refused[0]!, bobs);
    });

    it('refuses the same subject name at another issuer without a link (sub is only unique per iss)', async () => {
      const result = await evaluatePassport([await b.visa({}, { sub: 'alice' })], alice, verifier);
      expect(reasons(result)).toEqual(['unlinked_identity']);
    });

    it('combines two identities only through a valid LinkedIdentities visa', async () => {
      const atB = await b.visa({}, { sub: 'alice-at-b' });
      expect(reasons(await evaluatePassport([atB], alice, verifier))).toEqual(['unlinked_identity']);

      const link = await a.visa({ type: 'LinkedIdentities', value: `alice-at-b,${enc(b.issuer)}`, source: SOURCE, by: 'system' });
      const linked = await evaluatePassport([atB, link], alice, verifier);
      expect(linked.refused).toEqual([]);
      expect(types(linked)).toEqual(['LinkedIdentities', 'ResearcherStatus']);
      expect(linked.visas.find((v) => v.type === 'ResearcherStatus')?.subject).toBe('alice-at-b');
    });

    it('accepts a link asserted from the other side, and chains of links', async () => {
      const fromB = await b.visa({ type: 'LinkedIdentities', value: `alice,${enc(a.issuer)};alice-old,${enc(a.issuer)}` }, { sub: 'alice-at-b' });
      const old = await a.visa({ type: 'AffiliationAndRole', value: 'member@uni-heidelberg.de', source: UNI }, { sub: 'alice-old' });
      const result = await evaluatePassport([fromB, old], alice, verifier);
      expect(result.refused).toEqual([]);
      expect(types(result)).toEqual(['AffiliationAndRole', 'LinkedIdentities']);

      // alice -> alice-at-b (by a), alice-at-b -> alice-older (by b).
      const first = await a.visa({ type: 'LinkedIdentities', value: `alice-at-b,${enc(b.issuer)}` });
      const second = await b.visa({ type: 'LinkedIdentities', value: `alice-older,${enc(a.issuer)}` }, { sub: 'alice-at-b' });
      const older = await a.visa({}, { sub: 'alice-older' });
      expect((await evaluatePassport([first, second, older], alice, verifier)).refused).toEqual([]);
    });

    it('does not link through a LinkedIdentities visa that is itself refused', async () => {
      const atB = await b.visa({}, { sub: 'alice-at-b' });
      const untrustedSource = await a.visa({ type: 'LinkedIdentities', value: `alice-at-b,${enc(b.issuer)}`, source: 'https://no.organization' });
      const untrustedIssuer = await stranger.visa({ type: 'LinkedIdentities', value: `alice-at-b,${enc(b.issuer)}` });
      const expired = await a.visa({ type: 'LinkedIdentities', value: `alice-at-b,${enc(b.issuer)}` }, { iat: nowSec() - 7200, exp: nowSec() - 3600 });
      const result = await evaluatePassport([atB, untrustedSource, untrustedIssuer, expired], alice, verifier);
      expect(result.visas).toEqual([]);
      expect(reasons(result)).toEqual(['expired', 'unlinked_identity', 'untrusted_issuer', 'untrusted_source']);
    });

    it('does not link through a conditional LinkedIdentities visa', async () => {
      const atB = await b.visa({}, { sub: 'alice-at-b' });
      const link = await a.visa({ type: 'LinkedIdentities', value: `alice-at-b,${enc(b.issuer)}`, conditions: [[{ type: 'AffiliationAndRole', value: 'pattern:*' }]] });
      const result = await evaluatePassport([atB, link, await affiliation()], alice, verifier);
      // The link itself is alice's and its condition is met, but it linked nobody.
      expect(types(result)).toEqual(['AffiliationAndRole', 'LinkedIdentities']);
      expect(reasons(result)).toEqual(['unlinked_identity']);
    });

    it('ignores links between other people', async () => {
      const bobLinksMallory = await a.visa({ type: 'LinkedIdentities', value: `mallory,${enc(a.issuer)}` }, { sub: 'bob' });
      const mallorys = await a.visa({}, { sub: 'mallory' });
      const result = await evaluatePassport([bobLinksMallory, mallorys], alice, verifier);
      expect(result.visas).toEqual([]);
      expect(reasons(result)).toEqual(['unlinked_identity', 'unlinked_identity']);
    });
  });

  describe('conditions across visas', () => {
    it('const: accepted with the required visa, refused without it', async () => {
      const conditional = await grant([[{ type: 'AffiliationAndRole', value: 'const:faculty@uni-heidelberg.de', by: 'const:so' }]]);
      const met = await evaluatePassport([conditional, await affiliation()], alice, verifier);
      expect(types(met)).toEqual(['AffiliationAndRole', 'ControlledAccessGrants']);
      expect(met.visas.find((v) => v.type === 'ControlledAccessGrants')).not.toHaveProperty('conditions');

      const alone = await evaluatePassport([conditional], alice, verifier);
      expect(alone.visas).toEqual([]);
      expect(alone.refused).toMatchObject([{ reason: 'conditions_not_met', type: 'ControlledAccessGrants' }]);
      expectNoTokenText(alone.refused[0]!, conditional);

      const wrongBy = await evaluatePassport([conditional, await affiliation('peer')], alice, verifier);
      expect(reasons(wrongBy)).toEqual(['conditions_not_met']);
    });

    it('pattern: match and mismatch', async () => {
      const faculty = await grant([[{ type: 'AffiliationAndRole', value: 'pattern:faculty@*.de' }]]);
      const student = await grant([[{ type: 'AffiliationAndRole', value: 'pattern:student@*' }]]);
      const result = await evaluatePassport([faculty, student, await affiliation()], alice, verifier);
      expect(types(result)).toEqual(['AffiliationAndRole', 'ControlledAccessGrants']);
      expect(reasons(result)).toEqual(['conditions_not_met']);
      expect(result.refused[0]).toMatchObject({ type: 'ControlledAccessGrants', issuer: a.issuer });
    });

    it('split_pattern: matches one identity of a LinkedIdentities value', async () => {
      const atB = await b.visa({}, { sub: 'alice-at-b' });
      const link = await a.visa({ type: 'LinkedIdentities', value: `alice-old,${enc(a.issuer)};alice-at-b,${enc(b.issuer)}` });
      const needsB = await grant([[{ type: 'LinkedIdentities', value: `split_pattern:alice-at-b,${enc(b.issuer)}` }]]);
      const needsC = await grant([[{ type: 'LinkedIdentities', value: 'split_pattern:*,https%3A%2F%2Fc.example' }]]);
      const result = await evaluatePassport([atB, link, needsB, needsC], alice, verifier);
      expect(types(result)).toEqual(['ControlledAccessGrants', 'LinkedIdentities', 'ResearcherStatus']);
      expect(reasons(result)).toEqual(['conditions_not_met']);
    });

    it('an unknown match type never matches', async () => {
      const regex = await grant([[{ type: 'AffiliationAndRole', value: 'regex:faculty@.*' }]]);
      const result = await evaluatePassport([regex, await affiliation()], alice, verifier);
      expect(reasons(result)).toEqual(['conditions_not_met']);
    });

    it('a visa that itself has conditions cannot satisfy a clause', async () => {
      const conditionalAffiliation = await a.visa({
        type: 'AffiliationAndRole',
        value: 'faculty@uni-heidelberg.de',
        source: UNI,
        by: 'so',
        conditions: [[{ type: 'ResearcherStatus', value: 'pattern:*' }]],
      });
      const needsAffiliation = await grant([[{ type: 'AffiliationAndRole', value: 'const:faculty@uni-heidelberg.de' }]]);
      const result = await evaluatePassport([conditionalAffiliation, needsAffiliation, await a.visa()], alice, verifier);
      // The affiliation's own condition is met (ResearcherStatus is there), yet it cannot carry the grant.
      expect(types(result)).toEqual(['AffiliationAndRole', 'ResearcherStatus']);
      expect(result.refused).toMatchObject([{ reason: 'conditions_not_met', type: 'ControlledAccessGrants' }]);
    });

    it('refused or unlinked visas cannot satisfy a clause', async () => {
      const needsAffiliation = await grant([[{ type: 'AffiliationAndRole', value: 'pattern:faculty@*' }]]);
      const bobs = await affiliation('so', 'bob');
      const untrusted = await affiliation('so', 'alice', stranger);
      const result = await evaluatePassport([needsAffiliation, bobs, untrusted], alice, verifier);
      expect(result.visas).toEqual([]);
      expect(reasons(result)).toEqual(['conditions_not_met', 'unlinked_identity', 'untrusted_issuer']);
    });

    it('all claims of a clause must hold on the same visa', async () => {
      const needs = await grant([[{ type: 'AffiliationAndRole', value: 'const:faculty@uni-heidelberg.de', by: 'const:so' }]]);
      const facultyByPeer = await affiliation('peer');
      const studentBySo = await a.visa({ type: 'AffiliationAndRole', value: 'student@uni-heidelberg.de', source: UNI, by: 'so' });
      const result = await evaluatePassport([needs, facultyByPeer, studentBySo], alice, verifier);
      expect(reasons(result)).toEqual(['conditions_not_met']);
    });

    it('a condition shape the code does not understand refuses the visa', async () => {
      const odd = await grant([[{ type: 'AffiliationAndRole', value: { const: 'x' } }]]);
      const result = await evaluatePassport([odd, await affiliation()], alice, verifier);
      expect(reasons(result)).toEqual(['conditions_unsupported']);
    });
  });

  describe('verifyPassportToken', () => {
    const passport = (visas: unknown, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, issuer: VisaIssuer = a) =>
      issuer.sign({ ga4gh_passport_v1: visas, ...claims }, undefined, { typ: 'vnd.ga4gh.passport+jwt', ...header });

    it('returns the visas of a trusted broker\'s Passport JWT, sharing the visa verifier\'s keys', async () => {
      a.hits.clear();
      const shared = createVisaVerifier(trust, { allowPrivateJkuAddresses: true });
      const visas = [await a.visa(), await affiliation()];
      const jwt = await passport(visas);
      const verified = await verifyPassportToken(jwt, shared.trust, { keys: shared.keys });
      expect(verified).toMatchObject({ issuer: a.issuer, subject: 'alice', visas });
      const result = await evaluatePassport(verified.visas, verified, shared);
      expect(types(result)).toEqual(['AffiliationAndRole', 'ResearcherStatus']);
      expect(hitsOf(a, '/jwks')).toBe(1);
    });

    it('accepts an empty passport', async () => {
      expect((await verifyPassportToken(await passport([]), trust)).visas).toEqual([]);
    });

    const refused = async (jwt: string, reason: VisaRefusalReason, config: PassportTrustInput = trust) => {
      const err = await verifyPassportToken(jwt, config).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PassportRefusedError);
      return expectRefused(Promise.reject(err), reason, jwt);
    };

    it.each([['at+jwt'], ['JWT'], ['vnd.ga4gh.visa+jwt'], [undefined]])('refuses typ %s (a Passport must say vnd.ga4gh.passport+jwt)', async (typ) => {
      await refused(await passport([], {}, { typ }), 'malformed');
    });

    it('refuses an untrusted broker without fetching its keys', async () => {
      stranger.hits.clear();
      await refused(await passport([], {}, { jku: stranger.jwksUrl }, stranger), 'untrusted_issuer');
      expect(hitsOf(stranger, '/jwks')).toBe(0);
    });

    it('refuses a passport from a visa issuer that is not a trusted broker', async () => {
      await refused(await passport([], {}, {}, b), 'untrusted_issuer');
    });

    it('refuses a passport without a list of visa strings', async () => {
      await refused(await passport(undefined), 'malformed');
      await refused(await passport('not-a-list'), 'malformed');
      await refused(await passport([42]), 'malformed');
    });

    it('refuses an expired passport and one signed by an unknown key', async () => {
      await refused(await passport([], { iat: nowSec() - 7200, exp: nowSec() - 3600 }), 'expired');
      const other = await newKey('ES256');
      await refused(await a.sign({ ga4gh_passport_v1: [] }, other, { typ: 'vnd.ga4gh.passport+jwt' }), 'bad_signature');
    });

    it('checks the audience when the broker entry names one', async () => {
      const withAudience: PassportTrustInput = { ...trust, brokers: [{ issuer: a.issuer, jwksUri: a.jwksUrl, audience: 'https://broker.test' }] };
      await refused(await passport([], { aud: 'https://elsewhere.test' }), 'malformed', withAudience);
      await expect(verifyPassportToken(await passport([], { aud: 'https://broker.test' }), withAudience)).resolves.toMatchObject({ issuer: a.issuer });
    });

    it('refuses an oversized passport unread', async () => {
      const huge = await passport(['x'.repeat(600 * 1024)]);
      await refused(huge, 'too_large');
    });
  });
});
