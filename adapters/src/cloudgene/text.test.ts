import { describe, expect, it } from 'vitest';
import { decodeEntities, exactSize, htmlToText, progressFraction } from './text';

const bar = (label: string, done: number): string =>
  `<b>${label}</b><br><div class="progress" style="width: 100%; margin-top: 15px;">\t<div class="progress-bar bg-success" style="width: ${done.toFixed(1)}%;"></div>\t<div class="progress-bar bg-primary" style="width: 0.0%;"></div>\t<div class="progress-bar bg-light" style="width: ${(100 - done).toFixed(1)}%;"></div></div>`;

describe('htmlToText', () => {
  it('keeps the label of a progress bar and drops the bar', () => {
    expect(htmlToText(bar('Imputation (1/4)', 25))).toBe('Imputation (1/4)');
  });

  it('strips tags, keeps line structure and decodes entities', () => {
    expect(htmlToText('<b>Statistics:</b>\nMatch: 7,735\n<b>Filtered sites:</b>')).toBe(
      'Statistics:\nMatch: 7,735\nFiltered sites:',
    );
    expect(htmlToText('password: <b>k7Rq</b>')).toBe('password: k7Rq');
    expect(htmlToText('A &amp; B &lt;x&gt; &quot;q&quot; &#233;t&#xE9;')).toBe('A & B <x> "q" été');
    expect(htmlToText('  \n <br> ')).toBe('');
  });

  it('leaves unknown entities alone', () => {
    expect(decodeEntities('&bogus; &#0;')).toBe('&bogus; &#0;');
  });
});

describe('progressFraction', () => {
  it('reads the (k/n) count of the label', () => {
    expect(progressFraction(bar('Imputation (1/4)', 25))).toBe(0.25);
    expect(progressFraction(bar('Phasing with Eagle (4/4)', 100))).toBe(1);
  });

  it('falls back to the success bar width', () => {
    expect(progressFraction(bar('Compression', 40))).toBeCloseTo(0.4);
  });

  it('is null for ordinary messages', () => {
    expect(progressFraction('Calculating QC Statistics')).toBeNull();
    expect(progressFraction('Imputation (1/4)')).toBeNull();
  });
});

describe('exactSize', () => {
  it('is exact only for the byte form of byteCountToDisplaySize', () => {
    expect(exactSize('760 bytes')).toBe(760);
    expect(exactSize('1 bytes')).toBe(1);
    expect(exactSize('82 MB')).toBeNull();
    expect(exactSize('2 KB')).toBeNull();
    expect(exactSize(null)).toBeNull();
  });
});

describe('htmlToText on QC texts', () => {
  it('keeps bare < and > that are not tags', () => {
    expect(htmlToText('<b>Warning:</b> 4 Chunk(s) excluded: < 10000 SNPs\nSNPs call rate < 90%: 0\nsites > 0.5: 2')).toBe(
      'Warning: 4 Chunk(s) excluded: < 10000 SNPs\nSNPs call rate < 90%: 0\nsites > 0.5: 2',
    );
  });
});
