import { describe, expect, it } from 'vitest';
import { BackendError } from '../types';
import { backendMessage, httpError, kindForStatus, networkError } from './errors';
import { fixture, fixturesAvailable } from './fixtures.test-helper';

describe('backendMessage', () => {
  it('takes `message` from Cloudgene JSON errors', () => {
    expect(backendMessage('{"message":"Access denied.","success":false}')).toBe('Access denied.');
  });
  it('keeps plain-text bodies (other submit exceptions are sent as toString())', () => {
    expect(backendMessage('java.lang.IllegalStateException: disk full\n')).toBe('java.lang.IllegalStateException: disk full');
  });
  it('reduces an HTML error page to its text and caps long bodies', () => {
    expect(backendMessage('<html><body><h1>502 Bad Gateway</h1></body></html>')).toBe('502 Bad Gateway');
    expect(backendMessage('x'.repeat(2000)).length).toBeLessThan(600);
  });
});

describe.skipIf(!fixturesAvailable)('the error fixtures map to the kinds the run engine acts on', () => {
  const message = (file: string): string => backendMessage(JSON.stringify(fixture(file)));
  it.each([
    ['error-maintenance.503.json', 503, 'submit', 'maintenance'],
    ['error-maintenance.503.json', 503, 'job', 'maintenance'],
    ['error-too-many-jobs.400.json', 400, 'submit', 'capacity'],
    ['error-unknown-parameter.400.json', 400, 'submit', 'rejected'],
    ['error-app-not-found.404.json', 404, 'submit', 'rejected'],
    ['error-job-not-found.404.json', 404, 'job', 'not_found'],
    ['error-access-denied.403.json', 403, 'job', 'auth'],
    ['error-restart-not-dead.400.json', 400, 'job', 'rejected'],
    ['error-download-limit.400.json', 400, 'download', 'gone'],
    ['error-download-not-found.404.json', 404, 'download', 'gone'],
    ['login-failed.401.json', 401, 'api', 'auth'],
  ] as const)('%s (%i, %s) → %s', (file, status, context, kind) => {
    expect(kindForStatus(status, message(file), context)).toBe(kind);
  });
});

describe('kindForStatus beyond the fixtures', () => {
  it.each([
    [500, 'api', 'unreachable'],
    [502, 'job', 'unreachable'],
    [504, 'submit', 'unreachable'],
    [503, 'api', 'unreachable'],
    [429, 'submit', 'rate_limited'],
    [429, 'download', 'rate_limited'],
    [413, 'submit', 'rejected'],
    [500, 'download', 'unreachable'],
    [403, 'download', 'unreachable'],
  ] as const)('%i in %s → %s', (status, context, kind) => {
    expect(kindForStatus(status, 'Service Unavailable', context)).toBe(kind);
  });
});

describe('error messages', () => {
  it('carry the status and Cloudgene text but never the token', () => {
    const error = httpError('GET /api/v2/jobs/x/status', 404, '{"message":"Job x not found. sekret-token"}', 'job', 'sekret-token');
    expect(error).toBeInstanceOf(BackendError);
    expect(error.kind).toBe('not_found');
    expect(error.status).toBe(404);
    expect(error.message).toBe('Cloudgene GET /api/v2/jobs/x/status failed with HTTP 404: Job x not found. [redacted]');
  });

  it('say a timeout is a timeout', () => {
    const timeout = new Error('The operation was aborted due to timeout');
    timeout.name = 'TimeoutError';
    const error = networkError('GET /api/v2/server', timeout, 1500);
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('timed out after 1500 ms');
    expect(error.retryable).toBe(true);
  });
});
