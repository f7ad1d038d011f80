/** The redacting Secret wrapper and secret masking in error text. */
import { Writable } from 'node:stream';
import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging';
import { maskSecrets, Secret } from './secret';

const VALUE = 'eyJhbGciOiJIUzI1NiJ9.s3cr3t+/=&value"quoted';

describe('Secret', () => {
  it('reveals the value only through reveal()', () => {
    const s = new Secret(VALUE);
    expect(s.reveal()).toBe(VALUE);
    for (const text of [String(s), `${s}`, JSON.stringify({ s }), inspect(s), inspect({ nested: { s } }, { depth: 5, showHidden: true }), format('%s %o %j', s, s, s)]) {
      expect(text).not.toContain('s3cr3t');
      expect(text).toContain('[redacted]');
    }
  });

  it('is logged as [redacted] by the broker logger', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const log = createLogger('info', sink);
    log.info({ credential: { secret: new Secret(VALUE) }, plain: 'x' }, 'using credential');
    expect(lines.join('')).toContain('"secret":"[redacted]"');
    expect(lines.join('')).not.toContain('s3cr3t');
  });
});

describe('maskSecrets', () => {
  it('replaces the secret raw, URL-encoded, form-encoded and JSON-escaped', () => {
    const text = [
      `raw ${VALUE}`,
      `url ${encodeURIComponent(VALUE)}`,
      `form ${new URLSearchParams({ token: VALUE }).toString()}`,
      `json ${JSON.stringify({ token: VALUE })}`,
    ].join(' | ');
    const masked = maskSecrets(text, [VALUE]);
    expect(masked).not.toContain('s3cr3t');
    expect(masked.match(/\[redacted\]/g)).toHaveLength(4);
  });

  it('takes Secret objects, leaves other text alone and ignores secrets too short to mask safely', () => {
    expect(maskSecrets(`a ${VALUE} b`, [new Secret(VALUE)])).toBe('a [redacted] b');
    expect(maskSecrets('nothing to hide', [VALUE])).toBe('nothing to hide');
    expect(maskSecrets('abc', ['abc'])).toBe('abc');
  });
});
