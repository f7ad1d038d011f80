/**
 * Stored objects as GA4GH DRS 1.5 shapes. A blob has two access methods: `https` straight from
 * the broker (the same credentials as the DRS call, `Range` supported), and `https` by the
 * `access_id` `signed`, which `/access` turns into a short-lived link that needs no token (for
 * workflow engines and download managers). A bundle lists its contents, nested ones expanded on
 * request.
 */
import type { AccessMethod, Authorizations, ContentsObject, DrsObject } from '@ibroker/api-spec/index';
import type { StoredObject } from '../db/entities';
import { contentUrl, drsUri, type Urls } from '../wes/views';
import { baseName } from './bundles';
import { referenceAccessType } from './reference';

/** The `access_id` of the signed-link access method. */
export const SIGNED_ACCESS_ID = 'signed';

/** DRS names are portable file names: `[A-Za-z0-9.-_]`. */
export function portableName(name: string): string {
  return baseName(name).replace(/[^A-Za-z0-9._-]/g, '_');
}

const rfc3339 = (d: Date) => d.toISOString();

function checksums(o: StoredObject): DrsObject['checksums'] {
  if (o.referenceUrl !== null) return o.statedChecksums;
  return [
    { type: 'sha-256', checksum: o.sha256 },
    { type: 'md5', checksum: o.md5 },
  ];
}

/** What an object's `/access` and the DRS routes accept, for `Authorizations` and `OPTIONS`. */
export interface AuthorizationInfo {
  /** Trusted visa issuers: whose visas may authorize (PassportAuth). */
  passportIssuers: string[];
  /** Trusted OIDC issuers of bearer tokens (BearerAuth). */
  bearerIssuers: string[];
}

export function authorizationsFor(objectId: string | undefined, info: AuthorizationInfo): Authorizations {
  return {
    ...(objectId ? { drs_object_id: objectId } : {}),
    supported_types: ['BearerAuth', 'PassportAuth'],
    passport_auth_issuers: info.passportIssuers,
    bearer_auth_issuers: info.bearerIssuers,
  };
}

function accessMethods(u: Urls, o: StoredObject, info: AuthorizationInfo): AccessMethod[] {
  const referenced = referenceAccessType(o);
  if (o.referenceUrl !== null && referenced !== null) {
    // Where the backend keeps it; readable with credentials for that storage, not through the broker.
    return [{ type: referenced, access_url: { url: o.referenceUrl } }];
  }
  return [
    { type: 'https', access_url: { url: contentUrl(u, o.id) }, available: true },
    { type: 'https', access_id: SIGNED_ACCESS_ID, available: true, authorizations: authorizationsFor(o.id, info) },
  ];
}

function aliases(o: StoredObject): string[] {
  return o.runId ? [`run:${o.runId}/${o.role === 'bundle' && o.parentId === null ? 'results' : o.name}`] : [];
}

/**
 * @param contents for a bundle: its children, and (when `expand`) their children, by bundle id
 */
export function drsObjectView(
  u: Urls,
  o: StoredObject,
  info: AuthorizationInfo,
  contents?: { byParent: Map<string, StoredObject[]>; expand: boolean },
): DrsObject {
  const view: DrsObject = {
    id: o.id,
    name: portableName(o.name),
    self_uri: drsUri(u, o.id),
    size: o.size,
    created_time: rfc3339(o.createdAt),
    updated_time: rfc3339(o.createdAt),
    // One id always names the same bytes (DRS): the content hash is the version.
    ...(o.sha256 ? { version: o.sha256.slice(0, 16) } : {}),
    mime_type: o.mimeType,
    checksums: checksums(o),
    ...(o.description ? { description: o.description } : {}),
    aliases: aliases(o),
  };
  if (o.role !== 'bundle') return { ...view, access_methods: accessMethods(u, o, info) };
  const tree = (parent: StoredObject, depth: number): ContentsObject[] =>
    (contents?.byParent.get(parent.id) ?? []).map((child) => {
      const entry: ContentsObject = { name: portableName(child.name), id: child.id, drs_uri: [drsUri(u, child.id)] };
      if (child.role === 'bundle' && contents?.expand && depth < 16) entry.contents = tree(child, depth + 1);
      return entry;
    });
  return { ...view, contents: tree(o, 0) };
}

/** Children by parent id, from a flat list (a bundle's descendants). */
export function byParent(objects: readonly StoredObject[]): Map<string, StoredObject[]> {
  const map = new Map<string, StoredObject[]>();
  for (const o of objects) {
    if (!o.parentId) continue;
    map.set(o.parentId, [...(map.get(o.parentId) ?? []), o]);
  }
  for (const list of map.values()) list.sort((a, b) => portableName(a.name).localeCompare(portableName(b.name)));
  return map;
}
