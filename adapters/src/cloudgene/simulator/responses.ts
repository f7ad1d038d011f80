/** JSON bodies of Cloudgene 3 (JobResponse, WdlAppResponse, server root, user profile), nulls included. */
import type { UserRecord } from './auth';
import type { JobEngine } from './jobs';
import { panelKey, type Profile } from './profiles';
import { outputParams, type DownloadRegistry } from './workspace';
import { JobState, type Job } from './types';

export interface JobView {
  engine: JobEngine;
  registry: DownloadRegistry;
  profile: Profile;
}

/** `full = false` is the list form: steps and outputParams empty. */
export function jobResponse(job: Job, view: JobView, admin: boolean, now: number, full = true): Record<string, unknown> {
  const { engine, registry, profile } = view;
  const listed = !engine.isActive(job) && job.state !== JobState.DEAD;
  return {
    application: `${profile.appName} ${profile.appVersion}`,
    applicationId: job.applicationId,
    deletedOn: job.deletedOn,
    id: job.id,
    name: job.name,
    logs: admin ? `logs/${job.id}` : '',
    userAgent: job.userAgent,
    submittedOn: job.submittedOn,
    username: job.username,
    currentTime: now,
    workspaceSize: null,
    state: job.state,
    positionInQueue: engine.positionInQueue(job),
    startTime: job.startTime,
    endTime: job.endTime,
    // MessageResponse.build drops blank messages.
    steps: full
      ? job.steps.map((s) => {
          const logMessages = s.logMessages
            .filter((m) => m.message.trim() !== '')
            .map((m) => ({ success: true, message: m.message, type: m.type, time: m.time }));
          return { id: s.id, name: s.name, empty: logMessages.length === 0, logMessages };
        })
      : [],
    outputParams: full ? outputParams(job, registry, listed) : [],
  };
}

const option = (key: string, value: string | null, label: string | null = null, values: unknown = null): Record<string, unknown> => ({
  key,
  value,
  label,
  values,
  enabled: false,
});

/** WdlAppResponse for imputationserver2; nulls are omitted per param, `password` (hidden) is not listed. */
export function appResponse(profile: Profile): Record<string, unknown> {
  const base = (id: string, description: string | null, type: string, value: string): Record<string, unknown> => ({
    id,
    ...(description === null ? {} : { description }),
    type,
    value,
    visible: true,
    required: true,
    adminOnly: false,
  });
  const list = (id: string, description: string, value: string, values: [string, string][], details?: string): Record<string, unknown> => ({
    ...base(id, description, 'list', value),
    ...(details ? { details } : {}),
    values: [...values].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => option(k, v)),
  });
  const checkbox = (id: string, description: string, details?: string): Record<string, unknown> => ({
    ...base(id, description, 'checkbox', 'false'),
    ...(details ? { details } : {}),
    values: [option('false', 'false'), option('true', 'true')],
  });
  return {
    id: profile.appId,
    name: profile.appName,
    version: profile.appVersion,
    description: profile.description,
    author: null,
    website: profile.website,
    logo: null,
    submitButton: 'Start Imputation',
    params: [
      {
        ...base('refpanel', 'Reference Panel (<a href="https://imputationserver.sph.umich.edu/start.html#!pages/refpanels" target="_blank">Details</a>)', 'app_list', ''),
        values: profile.panels.map((p) => option(panelKey(p), p.label)),
      },
      {
        ...base('files', 'Input Files (<a href="http://www.1000genomes.org/wiki/Analysis/Variant%20Call%20Format/vcf-variant-call-format-version-41" target="_blank">VCF</a>)', 'local_folder', ''),
        source: 'upload',
      },
      list('build', 'Array Build', 'hg19', [['hg19', 'GRCh37/hg19'], ['hg38', 'GRCh38/hg38']], 'Please note that the final SNP coordinates always match the reference build.'),
      list('r2Filter', 'rsq Filter', '0', [['0', 'off'], ['0.001', '0.001'], ['0.1', '0.1'], ['0.2', '0.2'], ['0.3', '0.3']]),
      list('phasing', 'Phasing Engine', 'eagle', [['eagle', 'Eagle v2.4'], ['beagle', 'Beagle 5.4 (HRC and 1KG only)'], ['no_phasing', 'No phasing']]),
      {
        ...base('population', 'Allele Frequency Check', 'binded_list', ''),
        bind: 'refpanel',
        values: profile.panels.map((p) => option(panelKey(p), null, p.label, p.populations.map((x) => option(x.id, x.name)))),
      },
      list('mode', 'Mode', 'imputation', [['imputation', 'Quality Control & Imputation'], ['qc_only', 'Quality Control Only']]),
      checkbox('aesEncryption', 'AES 256 encryption', 'Imputation Server encrypts all zip files by default. Please note that AES encryption does not work with standard unzip programs. Use 7z instead.'),
      checkbox('meta', 'Generate Meta-imputation file'),
      base('myseparator', null, 'separator', ''),
      base('check1', 'I will not attempt to re-identify or contact research participants.', 'terms_checkbox', ''),
      base('check2', 'I will report any inadvertent data release, security breach or other data management incident of which I become aware.', 'terms_checkbox', ''),
    ],
    s3Workspace: false,
    footer: null,
  };
}

export function serverResponse(profile: Profile, user: UserRecord | null, maintenance: boolean): Record<string, unknown> {
  return {
    name: profile.serverName,
    background: '#343a40',
    foreground: '#ffffff',
    footer: '',
    emailRequired: true,
    userEmailDescription: '',
    userWithoutEmailDescription: '',
    oauth: [],
    ...(user ? { user: { username: user.username, mail: user.mail, admin: user.admin, name: user.fullName } } : {}),
    apps: user ? [{ id: `${profile.appId}@${profile.appVersion}`, name: profile.appName, version: profile.appVersion }] : [],
    deprecatedApps: [],
    experimentalApps: [],
    loggedIn: user !== null,
    navigation: [],
    // Misspelled in ServerService.getRoot; clients read it under this name.
    maintenace: maintenance,
  };
}

export function profileResponse(user: UserRecord, now: number): Record<string, unknown> {
  const valid = user.apiHash !== null && (user.apiTokenExpiresAt === null || user.apiTokenExpiresAt > now);
  return {
    id: user.id,
    username: user.username,
    fullName: user.fullName,
    lastLogin: user.lastLogin === 0 ? null : new Date(user.lastLogin).toISOString(),
    lockedUntil: user.lockedUntil === 0 ? null : new Date(user.lockedUntil).toISOString(),
    active: true,
    loginAttempts: user.failedLogins,
    role: user.admin ? 'admin,User' : 'User',
    mail: user.mail,
    admin: user.admin,
    hasApiToken: user.apiHash !== null,
    apiTokenMessage: user.apiHash === null ? '' : valid ? 'API Token is valid.' : 'API Token expired.',
    apiTokenValid: valid,
  };
}
