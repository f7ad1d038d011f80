/** The trust configuration: schema, jku allow-list rules, and lookups. */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { compileJkuRule, compileTrust, jkuAllowed, parseJku, parsePassportTrust, passportTrustSchema } from './trust';

const allowed = (entries: string[], jku: string): boolean => {
  const url = parseJku(jku);
  const rules = entries.map((e) => compileJkuRule(e));
  if (rules.some((r) => r === null)) throw new Error('bad rule');
  return url !== null && jkuAllowed(rules as NonNullable<(typeof rules)[number]>[], url);
};

describe('passport trust configuration', () => {
  it('reads the YAML policy section, with defaults', () => {
    const trust = parsePassportTrust(
      parseYaml(`
brokers:
  - issuer: https://login.elixir-czech.org/oidc/
    jwksUri: https://login.elixir-czech.org/oidc/jwk
visaIssuers:
  - issuer: https://login.elixir-czech.org/oidc/
    jwksUri: https://login.elixir-czech.org/oidc/jwk
  - issuer: urn:example.com:dac-visa-issuer
    jku: ["https://keys.example.com/ga4gh/*"]
sources: [https://ega-archive.org/dacs/EGAC00001000205]
`),
    );
    expect(trust.brokers[0]?.jku).toEqual([]);
    expect(trust.visaIssuers[1]).toEqual({ issuer: 'urn:example.com:dac-visa-issuer', jku: ['https://keys.example.com/ga4gh/*'] });
    const index = compileTrust(trust);
    expect(index.visaIssuer('urn:example.com:dac-visa-issuer')?.jku).toEqual([{ kind: 'prefix', prefix: 'https://keys.example.com/ga4gh/' }]);
    expect(index.broker('https://login.elixir-czech.org/oidc')).toBeUndefined(); // exact, byte for byte
    expect(index.sourceTrusted('https://ega-archive.org/dacs/EGAC00001000205')).toBe(true);
    expect(index.sourceTrusted('https://ega-archive.org/dacs/egac00001000205')).toBe(false);
    expect(parsePassportTrust(undefined)).toEqual({ brokers: [], visaIssuers: [], sources: [] });
  });

  it.each([
    [{ visaIssuers: [{ issuer: 'https://v.example' }] }, /jwksUri or at least one jku/],
    [{ visaIssuers: [{ issuer: 'https://v.example', jwksUri: 'https://v.example/jwks', jwks: 'x' }] }, /unknown setting "jwks"/],
    [{ brokers: [{ issuer: 'https://b.example' }] }, /jwksUri/],
    [{ brokers: [{ issuer: 'ftp://b.example', jwksUri: 'https://b.example/jwks' }] }, /http\(s\) URL/],
    [{ visaIssuers: [{ issuer: 'https://v.example', jku: ['https://keys.example.org*'] }] }, /jku entries/],
    [{ visaIssuers: [{ issuer: 'https://v.example', jku: ['https://user:pw@keys.example.org/jwks'] }] }, /jku entries/],
    [{ visaIssuers: [{ issuer: 'https://v.example', jku: ['javascript:alert(1)'] }] }, /jku entries/],
    [{ visaIssuers: [{ issuer: 'x', jwksUri: 'https://x/j' }, { issuer: 'x', jwksUri: 'https://x/k' }] }, /listed twice/],
    [{ trustEveryone: true }, /unknown setting "trustEveryone"/],
  ])('refuses %j', (config, message) => {
    expect(() => parsePassportTrust(config)).toThrow(message);
    expect(passportTrustSchema.safeParse(config).success).toBe(false);
  });

  describe('jku allow-list', () => {
    it('matches exact URLs exactly (after URL normalisation)', () => {
      expect(allowed(['https://keys.example.org/jwks'], 'https://keys.example.org/jwks')).toBe(true);
      expect(allowed(['https://keys.example.org/jwks'], 'https://KEYS.example.org:443/jwks')).toBe(true);
      expect(allowed(['https://keys.example.org/jwks'], 'https://keys.example.org/jwks/')).toBe(false);
      expect(allowed(['https://keys.example.org/jwks'], 'https://keys.example.org/jwks?x')).toBe(false);
      expect(allowed(['https://keys.example.org/jwks'], 'http://keys.example.org/jwks')).toBe(false);
    });

    it('matches prefixes at a path boundary only', () => {
      const rules = ['https://keys.example.org/ga4gh/*'];
      expect(allowed(rules, 'https://keys.example.org/ga4gh/2024.json')).toBe(true);
      expect(allowed(rules, 'https://keys.example.org/ga4gh-evil/keys')).toBe(false);
      expect(allowed(rules, 'https://keys.example.org/ga4gh/../admin/keys')).toBe(false);
      expect(allowed(rules, 'https://keys.example.org/ga4gh/%2e%2e/admin')).toBe(false);
      expect(allowed(rules, 'https://keys.example.org.evil.test/ga4gh/keys')).toBe(false);
      expect(allowed(rules, 'https://keys.example.org@evil.test/ga4gh/keys')).toBe(false);
      expect(allowed(['https://keys.example.org/*'], 'https://keys.example.org.evil.test/')).toBe(false);
    });

    it('does not accept prefixes that end mid-name', () => {
      expect(compileJkuRule('https://keys.example.org*')).toBeNull();
      expect(compileJkuRule('https://keys.example.org/ga4gh*')).toBeNull();
      expect(compileJkuRule('https://keys.example.org/*')).toEqual({ kind: 'prefix', prefix: 'https://keys.example.org/' });
    });
  });
});
