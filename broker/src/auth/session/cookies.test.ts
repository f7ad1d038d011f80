import { generateCookie } from 'hono/cookie';
import { describe, expect, it } from 'vitest';
import { cookieOptions, cookieSettings, isRandomToken, randomToken, safeReturnTo, tokenHash } from './cookies';
import { csrfMatches, csrfToken, isStateChanging } from './csrf';

const base = 'https://imputation.example.org';

describe('session cookies', () => {
  it('use the __Host- prefix with Secure, HttpOnly, SameSite=Lax and Path=/ on https', () => {
    const s = cookieSettings(base);
    expect(s).toEqual({ session: '__Host-session', login: '__Host-login', secure: true });
    const line = generateCookie(s.session, randomToken(), cookieOptions(s, 3600));
    const attrs = line.split(';').map((a) => a.trim());
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/', 'Secure', 'Max-Age=3600']));
    expect(attrs.some((a) => a.startsWith('Domain'))).toBe(false);
  });

  it('are plain `session` / `login` without Secure on http (loopback demo)', () => {
    const s = cookieSettings('http://127.0.0.1:8080');
    expect(s).toEqual({ session: 'session', login: 'login', secure: false });
    expect(generateCookie(s.session, 'x', cookieOptions(s, 60))).not.toMatch(/Secure/);
  });

  it('hold 32 random bytes, stored only as their SHA-256', () => {
    const t = randomToken();
    expect(isRandomToken(t)).toBe(true);
    expect(isRandomToken(`${t}x`)).toBe(false);
    expect(isRandomToken('a.b')).toBe(false);
    expect(tokenHash(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenHash(t)).not.toContain(t);
  });
});

describe('return_to', () => {
  it.each([
    [undefined, '/'],
    ['', '/'],
    ['/runs', '/runs'],
    ['/runs?state=RUNNING#top', '/runs?state=RUNNING#top'],
    ['/a/../b', '/b'],
    ['/auth/callback?code=x', '/'],
  ])('keeps the same-site path %s as %s', (input, expected) => {
    expect(safeReturnTo(input, base)).toBe(expected);
  });

  it.each(['https://evil.example', 'http://imputation.example.org/x', '//evil.example', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', 'runs', '/x\ny', '/\t/evil.example', `/${'a'.repeat(3000)}`])(
    'refuses %s',
    (input) => {
      expect(safeReturnTo(input, base)).toBeNull();
    },
  );
});

describe('CSRF token', () => {
  it('is bound to both the session secret and the cookie value', () => {
    const secret = randomToken();
    const cookie = randomToken();
    const token = csrfToken(secret, cookie);
    expect(csrfMatches(token, secret, cookie)).toBe(true);
    expect(csrfMatches(token, secret, randomToken())).toBe(false);
    expect(csrfMatches(token, randomToken(), cookie)).toBe(false);
    expect(csrfMatches(undefined, secret, cookie)).toBe(false);
    expect(csrfMatches('', secret, cookie)).toBe(false);
    expect(csrfMatches(secret, secret, cookie)).toBe(false);
  });

  it('is asked for every method but GET, HEAD and OPTIONS', () => {
    expect(['POST', 'PUT', 'PATCH', 'DELETE', 'post'].every(isStateChanging)).toBe(true);
    expect(['GET', 'HEAD', 'OPTIONS'].some(isStateChanging)).toBe(false);
  });
});
