/**
 * Configuration: every mistake stops the broker with the setting's name and what would be valid.
 * Real YAML files in a temporary directory; no mocks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendToken, ConfigError, loadConfig, type BackendConfig } from './config';

let dir: string;
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ibroker-config-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(text: string): string {
  const path = join(dir, `config-${++n}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** The problems loadConfig reports, or fails the test if it accepted the configuration. */
function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^Invalid configuration:\n {2}- /);
    return (err as ConfigError).problems;
  }
  throw new Error(`configuration was accepted: ${JSON.stringify(env)}`);
}

const ISSUER = { OIDC_ISSUER: 'https://login.example.org/oidc/' };

const backendYaml = (fields: string) => `backends:\n  - id: mis2\n    kind: cloudgene\n    name: MIS 2\n    url: https://imputationserver.sph.umich.edu\n${fields}`;

describe('environment variables', () => {
  it.each(['abc', '70000', '-1', '80.5'])('refuses PORT=%s naming the valid range', (port) => {
    expect(problems({ PORT: port })).toEqual(['PORT: PORT must be a whole number from 0 to 65535']);
  });

  it('refuses a DATABASE_URL that is not postgres://', () => {
    expect(problems({ DATABASE_URL: 'mysql://db/broker' })).toEqual(['DATABASE_URL: DATABASE_URL must be a postgres:// URL']);
  });

  it('accepts postgres:// and postgresql:// database URLs', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/broker' }).databaseUrl).toBe('postgres://u:p@db:5432/broker');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/broker' }).databaseUrl).toBe('postgresql://db/broker');
  });

  it.each(['http://redis:6379', 'redis-server:6379'])('refuses REDIS_URL=%s naming the valid schemes', (url) => {
    expect(problems({ REDIS_URL: url })).toEqual(['REDIS_URL: REDIS_URL must be a redis:// or rediss:// URL']);
  });

  it('accepts redis:// and rediss://', () => {
    expect(loadConfig({ REDIS_URL: 'redis://redis:6379' }).redisUrl).toBe('redis://redis:6379');
    expect(loadConfig({ REDIS_URL: 'rediss://redis:6380/1' }).redisUrl).toBe('rediss://redis:6380/1');
  });

  it.each([
    ['OIDC_ISSUER', 'not a url'],
    ['OIDC_ISSUER', 'ftp://login.example.org'],
    ['PUBLIC_URL', 'javascript:alert(1)'],
  ])('refuses %s=%s: only absolute http(s) URLs', (name, value) => {
    const [p] = problems({ [name]: value });
    expect(p).toMatch(new RegExp(`^${name}: ${name} must be an absolute http\\(s\\) URL such as https://`));
  });

  it('refuses an unknown LOG_LEVEL listing the valid ones', () => {
    expect(problems({ LOG_LEVEL: 'loud' })).toEqual(['LOG_LEVEL: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent']);
  });

  it('refuses WORKER and DEMO values other than true/false/1/0', () => {
    expect(problems({ WORKER: 'yes', DEMO: 'on' })).toEqual([
      'DEMO: DEMO must be one of true, false, 1, 0',
      'WORKER: WORKER must be one of true, false, 1, 0',
    ]);
  });

  it('refuses a MAX_UPLOAD_BYTES that is not a positive whole number', () => {
    expect(problems({ MAX_UPLOAD_BYTES: '20GB' })).toEqual(['MAX_UPLOAD_BYTES: MAX_UPLOAD_BYTES must be a whole number of bytes, at least 1']);
  });

  it('reports every problem at once', () => {
    expect(problems({ PORT: 'x', DATABASE_URL: 'sqlite:x', REDIS_URL: 'x' })).toHaveLength(3);
  });

  it('treats an empty variable as unset (PORT= must not mean a random port)', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', REDIS_URL: '', OIDC_ISSUER: '' });
    expect(c.port).toBe(8080);
    expect(c.databaseUrl).toBeNull();
    expect(c.redisUrl).toBeNull();
    expect(c.demo).toBe(true);
  });
});

describe('defaults', () => {
  it('is the embedded demo when no issuer and no backends are configured', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:8080',
      databaseUrl: null,
      redisUrl: null,
      dataDir: '.data',
      secretKey: null,
      logLevel: 'info',
      maxUploadBytes: 20 * 1024 ** 3,
      demo: true,
      runWorker: true,
      issuers: [],
      backends: [],
    });
  });

  it('follows PORT in the default public URL and strips trailing slashes from PUBLIC_URL', () => {
    expect(loadConfig({ PORT: '9000' }).publicUrl).toBe('http://localhost:9000');
    expect(loadConfig({ PUBLIC_URL: 'https://imputation.example.org//' }).publicUrl).toBe('https://imputation.example.org');
  });

  it('WORKER=false makes an API-only process', () => {
    expect(loadConfig({ WORKER: 'false' }).runWorker).toBe(false);
    expect(loadConfig({ WORKER: '0' }).runWorker).toBe(false);
    expect(loadConfig({ WORKER: '1' }).runWorker).toBe(true);
  });

  it('DEMO=false without an issuer is refused, naming OIDC_ISSUER', () => {
    const p = problems({ DEMO: 'false' });
    expect(p).toContain('OIDC_ISSUER: set the issuer of your identity provider (or DEMO=true for the built-in dev provider)');
    expect(p).toContain('backends: configure at least one backend in CONFIG_FILE (or DEMO=true for the demo simulators)');
  });

  it('a configured backend without OIDC_ISSUER is not silently a demo: it is refused', () => {
    const path = file(backendYaml('    token: secret-token\n'));
    expect(problems({ CONFIG_FILE: path })).toEqual([
      'OIDC_ISSUER: set the issuer of your identity provider (or DEMO=true for the built-in dev provider)',
    ]);
  });

  it('an issuer without backends is refused too', () => {
    expect(problems(ISSUER)).toEqual(['backends: configure at least one backend in CONFIG_FILE (or DEMO=true for the demo simulators)']);
  });

  it('OIDC_ISSUER + OIDC_AUDIENCE become a trusted issuer, after those of the file', () => {
    const path = file(`${backendYaml('    token: t\n')}oidc:\n  issuers:\n    - issuer: https://keycloak.example.org/realms/x\n`);
    const c = loadConfig({ CONFIG_FILE: path, ...ISSUER, OIDC_AUDIENCE: 'broker' });
    expect(c.demo).toBe(false);
    expect(c.issuers).toEqual([
      { issuer: 'https://keycloak.example.org/realms/x' },
      { issuer: 'https://login.example.org/oidc/', audience: 'broker' },
    ]);
  });

  it('fills backend defaults (Cloudgene: 2 jobs, 7 days)', () => {
    const c = loadConfig({ CONFIG_FILE: file(backendYaml('    token: t\n')), ...ISSUER });
    expect(c.backends).toEqual([
      {
        id: 'mis2',
        kind: 'cloudgene',
        name: 'MIS 2',
        url: 'https://imputationserver.sph.umich.edu',
        token: 't',
        appId: 'imputationserver2',
        maxConcurrentJobs: 2,
        pollIntervalMs: 10_000,
        maxPollIntervalMs: 300_000,
        retentionDays: 7,
        demo: false,
        credentials: 'service',
      },
    ]);
  });
});

describe('CONFIG_FILE', () => {
  it('refuses a file that does not exist, naming it', () => {
    const path = join(dir, 'missing.yaml');
    expect(problems({ CONFIG_FILE: path, ...ISSUER })).toEqual([
      `CONFIG_FILE ${path}: the file does not exist; give the path of a readable YAML file`,
    ]);
  });

  it('refuses invalid YAML with the parser message and position', () => {
    const path = file('backends:\n  - id: mis2\n   kind: [cloudgene\n');
    const [p, ...rest] = problems({ CONFIG_FILE: path, ...ISSUER });
    expect(rest).toEqual([]);
    expect(p).toMatch(new RegExp(`^CONFIG_FILE ${path}: not valid YAML: .*line \\d+`, 's'));
  });

  it('refuses a file that is not a mapping', () => {
    const [p] = problems({ CONFIG_FILE: file('- just\n- a list\n'), ...ISSUER });
    expect(p).toMatch(/: \(root\): .*expected object/);
  });

  it('an empty file is an empty configuration', () => {
    expect(loadConfig({ CONFIG_FILE: file('') }).demo).toBe(true);
  });

  it('refuses an unknown top-level key, listing the valid ones', () => {
    const path = file('publicUrl: https://x.example.org\nbackend: []\n');
    expect(problems({ CONFIG_FILE: path })).toEqual([
      `CONFIG_FILE ${path}: (root): unknown setting "backend" (valid: publicUrl, backends, oidc, passports, drs)`,
    ]);
  });

  it('refuses a misspelt backend key instead of dropping it', () => {
    const path = file(backendYaml('    token: t\n    maxConcurrentJob: 5\n'));
    const [p] = problems({ CONFIG_FILE: path, ...ISSUER });
    expect(p).toMatch(/backends\.0: unknown setting "maxConcurrentJob" \(valid: id, name, url, token, tokenEnv, tokenFile, maxConcurrentJobs,.*, kind, appId\)/);
  });

  it.each(['MIS2', 'mis_2', '-mis2', ''])('refuses the backend id %j, saying what an id may be', (id) => {
    const path = file(`backends:\n  - id: "${id}"\n    kind: cloudgene\n    name: x\n    url: https://x.example.org\n    token: t\n`);
    expect(problems({ CONFIG_FILE: path, ...ISSUER })).toEqual([
      `CONFIG_FILE ${path}: backends.0.id: backend id must be lower-case letters, digits and dashes (e.g. "mis2")`,
    ]);
  });

  it('refuses an unknown backend kind, listing the known ones', () => {
    const path = file(backendYaml('    token: t\n').replace('kind: cloudgene', 'kind: galaxy'));
    const [p] = problems({ CONFIG_FILE: path, ...ISSUER });
    expect(p).toContain('backends.0.kind');
    expect(p).toContain('"cloudgene"');
  });

  it.each(['imputationserver.sph.umich.edu', 'ftp://imputationserver.sph.umich.edu', 'file:///etc/passwd'])(
    'refuses the backend url %s',
    (url) => {
      const path = file(backendYaml('    token: t\n').replace('https://imputationserver.sph.umich.edu', url));
      expect(problems({ CONFIG_FILE: path, ...ISSUER })).toEqual([
        `CONFIG_FILE ${path}: backends.0.url: backend url must be an absolute http(s) URL such as https://imputationserver.sph.umich.edu`,
      ]);
    },
  );

  it('refuses out-of-range limits', () => {
    const path = file(backendYaml('    token: t\n    maxConcurrentJobs: 0\n    pollIntervalMs: 5\n'));
    const p = problems({ CONFIG_FILE: path, ...ISSUER });
    expect(p).toHaveLength(2);
    expect(p[0]).toContain('backends.0.maxConcurrentJobs');
    expect(p[1]).toContain('backends.0.pollIntervalMs');
  });

  it('refuses two backends with the same id', () => {
    const one = `  - id: mis2\n    kind: cloudgene\n    name: a\n    url: https://a.example.org\n    token: t\n`;
    const path = file(`backends:\n${one}${one}`);
    expect(problems({ CONFIG_FILE: path, ...ISSUER })).toEqual(['backends: the id "mis2" is used twice']);
  });

  it('refuses a backend without a token source', () => {
    expect(problems({ CONFIG_FILE: file(backendYaml('')), ...ISSUER })).toEqual([
      'backends.mis2: give exactly one of token, tokenEnv or tokenFile (the service\'s API token)',
    ]);
  });

  it('refuses a backend with two token sources', () => {
    expect(problems({ CONFIG_FILE: file(backendYaml('    token: t\n    tokenEnv: MIS2_API_TOKEN\n')), ...ISSUER, MIS2_API_TOKEN: 'x' })).toEqual([
      'backends.mis2: give exactly one of token, tokenEnv or tokenFile (the service\'s API token)',
    ]);
  });

  it('lets a demo backend go without a token', () => {
    const c = loadConfig({ CONFIG_FILE: file(backendYaml('    demo: true\n')), ...ISSUER });
    expect(c.backends[0]?.demo).toBe(true);
  });

  it('refuses a tokenEnv that names an unset (or empty) variable', () => {
    const path = file(backendYaml('    tokenEnv: MIS2_API_TOKEN\n'));
    expect(problems({ CONFIG_FILE: path, ...ISSUER })).toEqual(['backends.mis2: environment variable MIS2_API_TOKEN is not set']);
    expect(problems({ CONFIG_FILE: path, ...ISSUER, MIS2_API_TOKEN: '' })).toEqual(['backends.mis2: environment variable MIS2_API_TOKEN is not set']);
  });

  it('refuses a tokenFile that does not exist or is empty at start-up, not on the first run', () => {
    const missing = join(dir, 'no-such-token');
    expect(problems({ CONFIG_FILE: file(backendYaml(`    tokenFile: ${missing}\n`)), ...ISSUER })).toEqual([
      `backends.mis2: tokenFile ${missing} does not exist or cannot be read`,
    ]);
    const empty = join(dir, 'empty-token');
    writeFileSync(empty, '\n');
    expect(problems({ CONFIG_FILE: file(backendYaml(`    tokenFile: ${empty}\n`)), ...ISSUER })).toEqual([
      `backends.mis2: tokenFile ${empty} is empty`,
    ]);
  });

  it('refuses a bad issuer in the file', () => {
    const path = file(`${backendYaml('    token: t\n')}oidc:\n  issuers:\n    - issuer: login.example.org\n`);
    const [p] = problems({ CONFIG_FILE: path, ...ISSUER });
    expect(p).toBe(`CONFIG_FILE ${path}: oidc.issuers.0.issuer: issuer must be an absolute http(s) URL such as https://login.elixir-czech.org/oidc/`);
  });

  it('takes publicUrl from the file unless PUBLIC_URL is set', () => {
    const path = file(`publicUrl: https://from-file.example.org/\n${backendYaml('    token: t\n')}`);
    expect(loadConfig({ CONFIG_FILE: path, ...ISSUER }).publicUrl).toBe('https://from-file.example.org');
    expect(loadConfig({ CONFIG_FILE: path, ...ISSUER, PUBLIC_URL: 'https://env.example.org' }).publicUrl).toBe('https://env.example.org');
  });
});

describe('backendToken', () => {
  const base: BackendConfig = {
    id: 'mis2',
    kind: 'cloudgene',
    name: 'MIS 2',
    url: 'https://imputationserver.sph.umich.edu',
    appId: 'imputationserver2',
    maxConcurrentJobs: 2,
    pollIntervalMs: 10_000,
    maxPollIntervalMs: 300_000,
    retentionDays: 7,
    demo: false,
  };

  it('reads the token from token, tokenEnv or tokenFile (trimmed)', () => {
    expect(backendToken({ ...base, token: 'inline' }, {})).toBe('inline');
    expect(backendToken({ ...base, tokenEnv: 'MIS2_API_TOKEN' }, { MIS2_API_TOKEN: 'from-env' })).toBe('from-env');
    const path = join(dir, 'token');
    writeFileSync(path, 'from-file\n');
    expect(backendToken({ ...base, tokenFile: path }, {})).toBe('from-file');
  });

  it('is null when there is none', () => {
    expect(backendToken(base, {})).toBeNull();
    expect(backendToken({ ...base, tokenEnv: 'UNSET' }, {})).toBeNull();
  });
});

describe('config/broker.example.yaml', () => {
  it('passes loadConfig with the token sources it names', () => {
    const example = join(import.meta.dirname, '../../config/broker.example.yaml');
    const text = readFileSync(example, 'utf8');
    // The example points at a docker secret; here the same file lives in a temporary directory.
    const secret = join(dir, 'afrigen_api_token');
    writeFileSync(secret, 'afrigen-token\n');
    expect(text).toContain('tokenFile: /run/secrets/afrigen_api_token');
    const path = file(text.replace('/run/secrets/afrigen_api_token', secret));

    const env = { CONFIG_FILE: path, OIDC_ISSUER: 'https://login.elixir-czech.org/oidc/', MIS2_API_TOKEN: 'mis2-token' };
    const c = loadConfig(env);
    expect(c.demo).toBe(false);
    expect(c.publicUrl).toBe('https://imputation.example.org');
    expect(c.backends.map((b) => b.id)).toEqual(['mis2', 'afrigen']);
    const [mis2, afrigen] = c.backends as [BackendConfig, BackendConfig];
    expect(mis2).toMatchObject({ kind: 'cloudgene', url: 'https://imputationserver.sph.umich.edu', tokenEnv: 'MIS2_API_TOKEN', maxConcurrentJobs: 2 });
    expect(mis2.token).toBeUndefined();
    expect(afrigen.token).toBeUndefined();
    expect(backendToken(mis2, env)).toBe('mis2-token');
    expect(backendToken(afrigen, env)).toBe('afrigen-token');

    // Without the variable it names, it is refused with a message saying which.
    expect(problems({ ...env, MIS2_API_TOKEN: '' })).toEqual(['backends.mis2: environment variable MIS2_API_TOKEN is not set']);
  });
});

describe('passport settings', () => {
  it('reads POLICY_FILE, the passports trust section and per-issuer token exchange', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-passport-'));
    const path = join(dir, 'broker.yaml');
    writeFileSync(
      path,
      [
        'oidc:',
        '  issuers:',
        '    - issuer: https://login.example.org/oidc',
        '      passport:',
        '        tokenExchange: { tokenEndpoint: https://login.example.org/oidc/token, clientId: broker, clientSecretEnv: BROKER_SECRET }',
        'passports:',
        '  brokers: [{ issuer: https://login.example.org/oidc, jwksUri: https://login.example.org/oidc/jwks }]',
        '  visaIssuers: [{ issuer: https://visas.example.org, jku: ["https://visas.example.org/jwks"] }]',
        '  sources: ["https://dac.example.org"]',
        'backends:',
        '  - { id: mis2, kind: cloudgene, name: MIS 2, url: https://imputationserver.sph.umich.edu, token: t }',
      ].join('\n'),
    );
    const cfg = loadConfig({ CONFIG_FILE: path, POLICY_FILE: '/etc/broker/policy.yaml', BROKER_SECRET: 's' });
    expect(cfg.policyFile).toBe('/etc/broker/policy.yaml');
    expect(cfg.issuers[0]?.passport?.tokenExchange?.clientId).toBe('broker');
    expect(cfg.passportTrust).toMatchObject({ sources: ['https://dac.example.org'] });
    expect(() => loadConfig({ CONFIG_FILE: path })).toThrow(/BROKER_SECRET \(token exchange client secret\) is not set/);
  });
});

describe('DRS settings', () => {
  it('default to the public URL host, 1000 ids per bulk request, 15-minute links and no compact prefixes', () => {
    const c = loadConfig({ PUBLIC_URL: 'https://imputation.example.org:8443/' });
    expect(c.drs).toEqual({ hostname: 'imputation.example.org:8443', maxBulkRequestLength: 1000, signedUrlTtlSec: 900, compactPrefixes: {}, identifiersOrgUrl: null });
    expect(c.corsOrigins).toBe('*');
  });

  it('take DRS_HOSTNAME, the bulk limit, the link lifetime and a list of CORS origins', () => {
    const c = loadConfig({ DRS_HOSTNAME: 'drs.example.org', DRS_MAX_BULK_REQUEST_LENGTH: '50', DRS_SIGNED_URL_TTL_SECONDS: '60', CORS_ORIGINS: 'https://a.example.org, https://b.example.org' });
    expect(c.drs).toMatchObject({ hostname: 'drs.example.org', maxBulkRequestLength: 50, signedUrlTtlSec: 60 });
    expect(c.corsOrigins).toEqual(['https://a.example.org', 'https://b.example.org']);
  });

  it.each([
    ['DRS_HOSTNAME', 'https://drs.example.org', 'DRS_HOSTNAME must be a host name'],
    ['DRS_MAX_BULK_REQUEST_LENGTH', '0', 'from 1 to 100000'],
    ['DRS_MAX_BULK_REQUEST_LENGTH', 'many', 'from 1 to 100000'],
    ['DRS_SIGNED_URL_TTL_SECONDS', '5', 'from 10 to 604800'],
  ])('refuse %s=%s', (name, value, message) => {
    const [p] = problems({ [name]: value });
    expect(p).toContain(name);
    expect(p).toContain(message);
  });

  it('read compact prefixes and the identifiers.org URL from CONFIG_FILE', () => {
    const path = file('drs:\n  identifiersOrgUrl: https://registry.api.identifiers.org/\n  compactPrefixes:\n    drs.anv0: https://drs.example.org/ga4gh/drs/v1/objects/{$id}\n');
    expect(loadConfig({ CONFIG_FILE: path }).drs).toMatchObject({
      identifiersOrgUrl: 'https://registry.api.identifiers.org',
      compactPrefixes: { 'drs.anv0': 'https://drs.example.org/ga4gh/drs/v1/objects/{$id}' },
    });
  });

  it('refuse a URL pattern without {$id}, a bad prefix and unknown keys', () => {
    const noId = file('drs:\n  compactPrefixes:\n    x: https://drs.example.org/objects/\n');
    expect(problems({ CONFIG_FILE: noId })[0]).toMatch(/drs.compactPrefixes.x: a compact DRS URL pattern is an http\(s\) URL with \{\$id\}/);
    const badPrefix = file('drs:\n  compactPrefixes:\n    "a b": https://drs.example.org/{$id}\n');
    expect(problems({ CONFIG_FILE: badPrefix })[0]).toMatch(/a compact DRS prefix is letters/);
    const typo = file('drs:\n  identifiersOrg: https://x.example.org\n');
    expect(problems({ CONFIG_FILE: typo })[0]).toMatch(/unknown setting "identifiersOrg" \(valid: compactPrefixes, identifiersOrgUrl\)/);
  });
});

describe('backend kinds beyond Cloudgene', () => {
  it('a WES node: open or with a bearer token, its workflow and panels', () => {
    const path = file(`backends:
  - id: elwazi
    kind: wes
    name: eLwazi WES node
    url: https://wes.example.org/ga4gh/wes/v1
    flavor: weskit
    workflowUrl: file:imputation/main.nf
    workflowType: NFL
    workflowTypeVersion: 22.10.0
    tags: { run_dir: "file:runs/\${runId}" }
    panels:
      - { id: h3africa-v6hc-s, build: hg38, populations: [afr] }
`);
    const [b] = loadConfig({ CONFIG_FILE: path, ...ISSUER }).backends;
    expect(b).toMatchObject({ kind: 'wes', flavor: 'weskit', inputMode: 'attachment', credentials: 'service', panels: [{ id: 'h3africa-v6hc-s', build: 'hg38', populations: ['afr'] }] });
  });

  it('DNAstack: the client secret is required, as are the workflow and its panels', () => {
    const ok = file(`backends:
  - id: workbench
    kind: dnastack
    name: DNAstack Workbench
    url: https://workbench.omics.ai
    clientId: broker
    tokenEnv: DNASTACK_SECRET
    workflowId: imputation
    workflowVersionId: v1
    panels: [{ id: 1000g-phase-3-v5, build: hg19, populations: [eur] }]
`);
    expect(loadConfig({ CONFIG_FILE: ok, DNASTACK_SECRET: 's', ...ISSUER }).backends[0]).toMatchObject({ kind: 'dnastack', clientId: 'broker', workflowId: 'imputation' });
    const noSecret = file('backends:\n  - { id: w, kind: dnastack, name: W, url: "https://w.example.org", clientId: c, workflowId: a, workflowVersionId: b, panels: [{ id: p, build: hg19, populations: [eur] }] }\n');
    expect(problems({ CONFIG_FILE: noSecret, ...ISSUER })).toEqual(['backends.w: give exactly one of token, tokenEnv or tokenFile (the OAuth2 client secret)']);
    const noPanels = file('backends:\n  - { id: w, kind: dnastack, name: W, url: "https://w.example.org", token: t, clientId: c, workflowId: a, workflowVersionId: b, panels: [] }\n');
    expect(problems({ CONFIG_FILE: noPanels, ...ISSUER })[0]).toMatch(/eWES cannot say which panels/);
  });

  it('refuses per-user credentials, a bad build or a Cloudgene key on another kind', () => {
    const userCreds = file('backends:\n  - { id: n, kind: wes, name: N, url: "https://n.example.org/ga4gh/wes/v1", credentials: user }\n');
    expect(problems({ CONFIG_FILE: userCreds, ...ISSUER })).toEqual([expect.stringContaining('only Cloudgene backends have')]);
    const badBuild = file('backends:\n  - { id: n, kind: wes, name: N, url: "https://n.example.org/ga4gh/wes/v1", panels: [{ id: p, build: grch37, populations: [eur] }] }\n');
    expect(problems({ CONFIG_FILE: badBuild, ...ISSUER })[0]).toMatch(/build must be hg19 or hg38/);
    const appId = file('backends:\n  - { id: n, kind: wes, name: N, url: "https://n.example.org/ga4gh/wes/v1", appId: imputationserver2 }\n');
    expect(problems({ CONFIG_FILE: appId, ...ISSUER })[0]).toMatch(/unknown setting "appId"/);
  });
});

describe('the registry of services', () => {
  it('panels may state their samples and variants, and a backend its organization', () => {
    const path = file(`backends:
  - id: elwazi
    kind: wes
    name: eLwazi WES node
    url: https://wes.example.org/ga4gh/wes/v1
    workflowUrl: file:imputation/main.nf
    workflowType: NFL
    workflowTypeVersion: 22.10.0
    organization: { name: ILIFU, url: "https://www.ilifu.ac.za" }
    panels:
      - { id: h3africa-v6hc-s, build: hg38, populations: [afr], samples: 4000, variants: 40000000 }
`);
    const [b] = loadConfig({ CONFIG_FILE: path, ...ISSUER }).backends;
    expect(b).toMatchObject({ organization: { name: 'ILIFU' }, panels: [{ samples: 4000, variants: 40_000_000 }] });
    const bad = file('backends:\n  - { id: n, kind: wes, name: N, url: "https://n.example.org", panels: [{ id: p, build: hg19, populations: [eur], samples: -3, variants: 1.5 }] }\n');
    expect(problems({ CONFIG_FILE: bad, ...ISSUER })).toEqual([
      expect.stringContaining('samples: samples must be a whole number of samples, at least 1'),
      expect.stringContaining('variants: variants must be a whole number of sites, at least 1'),
    ]);
    const org = file('backends:\n  - { id: n, kind: wes, name: N, url: "https://n.example.org", organization: { name: X, url: "ftp://x" } }\n');
    expect(problems({ CONFIG_FILE: org, ...ISSUER })[0]).toMatch(/organization\.url must be an absolute http\(s\) URL/);
  });

  it('health settings: defaults, durations with units, and bounds named in the message', () => {
    expect(loadConfig({}).health).toEqual({ intervalMs: 300_000, deactivateAfterMs: 30 * 86_400_000, slowMs: 2_000, historyRetentionMs: 30 * 86_400_000 });
    expect(loadConfig({}).backendsReloadMs).toBe(5_000);
    const c = loadConfig({ HEALTH_CHECK_INTERVAL: '90', HEALTH_DEACTIVATE_AFTER: '7d', HEALTH_SLOW_THRESHOLD: '1500ms', HEALTH_HISTORY_RETENTION: '12h', BACKENDS_RELOAD_INTERVAL: '1s' });
    expect(c.health).toEqual({ intervalMs: 90_000, deactivateAfterMs: 7 * 86_400_000, slowMs: 1_500, historyRetentionMs: 12 * 3_600_000 });
    expect(c.backendsReloadMs).toBe(1_000);
    expect(problems({ HEALTH_CHECK_INTERVAL: 'often', HEALTH_DEACTIVATE_AFTER: '10s' })).toEqual([
      'HEALTH_CHECK_INTERVAL: HEALTH_CHECK_INTERVAL must be a duration from 1s to 1d, such as 5m (units ms, s, m, h, d; a bare number is seconds)',
      'HEALTH_DEACTIVATE_AFTER: HEALTH_DEACTIVATE_AFTER must be a duration from 1m to 365d, such as 30d (units ms, s, m, h, d; a bare number is seconds)',
    ]);
  });

  it('backend names and locations are bounded', () => {
    const long = file(`backends:\n  - { id: n, kind: wes, name: "${'x'.repeat(201)}", url: "https://n.example.org" }\n`);
    expect(problems({ CONFIG_FILE: long, ...ISSUER })[0]).toMatch(/name must be 1 to 200 characters/);
  });
});
