// @vitest-environment happy-dom
import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import FileDrop from './FileDrop.svelte';
import Progress from './Progress.svelte';
import StateBadge from './StateBadge.svelte';

describe('components', () => {
  it('StateBadge says the state in words, the icon only decorates', () => {
    render(StateBadge, { state: 'EXECUTOR_ERROR' });
    const badge = screen.getByText('Failed');
    expect(badge.getAttribute('title')).toBe('The imputation service reported an error.');
    expect(badge.querySelector('[aria-hidden="true"]')?.textContent).toBe('✕');
  });

  it('Progress is a labelled progressbar with the number in text', () => {
    render(Progress, { value: 42.4, label: 'Upload progress' });
    const bar = screen.getByLabelText('Upload progress');
    expect(bar.tagName).toBe('PROGRESS');
    expect(bar.getAttribute('value')).toBe('42');
    expect(screen.getByText('42%', { selector: '.pct' })).toBeTruthy();
  });

  it('FileDrop is a labelled file input that checks the chosen files', async () => {
    render(FileDrop, { name: 'workflow_attachment' });
    const input = screen.getByLabelText(/Bgzipped VCF files/, { selector: 'input' }) as HTMLInputElement;
    expect(input.type).toBe('file');
    expect(input.name).toBe('workflow_attachment');
    expect(input.multiple).toBe(true);
    const plain = new File([new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8])], 'chr1.vcf.gz');
    Object.defineProperty(input, 'files', { value: [plain], configurable: true });
    await fireEvent.change(input);
    expect(await screen.findByText(/plain gzip, not bgzip/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Remove chr1.vcf.gz' })).toBeTruthy();
  });
});
