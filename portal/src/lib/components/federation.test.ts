// @vitest-environment happy-dom
import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import BackendStatus from './BackendStatus.svelte';
import HealthHistory from './HealthHistory.svelte';
import R2Chart from './R2Chart.svelte';

describe('federation components', () => {
  it('BackendStatus says the status in words, the symbol only decorates', () => {
    render(BackendStatus, { status: 'down' });
    const s = screen.getByText('Down');
    expect(s.getAttribute('title')).toMatch(/Not answering/);
    expect(s.querySelector('[aria-hidden="true"]')?.textContent).toBe('▲');
  });

  it('HealthHistory is an SVG chart whose text alternative is the summary', () => {
    const { container } = render(HealthHistory, {
      label: 'Health checks of mis2',
      health: {
        summary: { checks: 2, ok: 1, uptime: 0.5, mean_latency_ms: 80, max_latency_ms: 80 },
        history: [
          { at: '2026-01-01T00:00:00Z', ok: true, latency_ms: 80, detail: null },
          { at: '2026-01-01T00:01:00Z', ok: false, latency_ms: null, detail: 'timeout' },
        ],
      },
    });
    const svg = screen.getByRole('img');
    expect(svg.getAttribute('aria-label')).toBe('Health checks of mis2: 50.0 % up over the last 2 checks (1 answered); mean response 80 ms, slowest 80 ms.');
    expect(container.querySelectorAll('rect')).toHaveLength(2);
    expect(container.querySelector('rect.bad title')?.textContent).toContain('failed (timeout)');
  });

  it('R2Chart draws both runs and says their distributions in words', () => {
    const h = (bins: number[]) => ({ chromosome: '20', bins, count: bins.reduce((a, b) => a + b, 0), mean: 0.8, aboveThreshold: 0.9, truncated: false });
    const { container } = render(R2Chart, { chromosome: '20', a: h([1, 0, 0, 0, 0, 0, 0, 0, 0, 9]), b: { chromosome: '20', error: 'The broker answered 404 for this file.' } });
    expect(container.querySelectorAll('rect.a')).toHaveLength(10);
    const label = screen.getByRole('img').getAttribute('aria-label') ?? '';
    expect(label).toContain('Run A: 10 variants, mean r² 0.800, 90.0 % with r² ≥ 0.3');
    expect(label).toContain('Run B: The broker answered 404');
  });
});
