/**
 * DRS objects as stored: inputs, outputs, files opened out of result zips, and bundles. Every
 * write happens after the bytes and checksums are complete, and the rows of one step go in one
 * transaction, so no object ever names a partial file and a bundle never lists a missing one.
 */
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager, Repository } from 'typeorm';
import { In, IsNull } from 'typeorm';
import type { FsBlobStore, StoredBlob } from '../blobs/store';
import { extractZipMembers, ZipUnreadableError } from '../blobs/unzip';
import type { OutputReference } from '@ibroker/adapters/types';
import { ObjectEntity, type Run, type StoredObject } from '../db/entities';
import { returned } from '../db/returning';
import { mimeTypeOf } from './mime';
import { planRunBundles, type BundleMember } from './bundles';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Object ids are UUIDs; anything else cannot name an object (and is never sent to the database). */
export function isObjectId(id: string): boolean {
  return UUID.test(id);
}

/** Dataset ids a run is tagged with: its WES tag `dataset` (comma-separated). */
export function datasetsOf(tags: Record<string, string>): string[] {
  return [...new Set((tags.dataset ?? '').split(',').map((d) => d.trim()).filter(Boolean))];
}

/** An input about to be stored with a new run: bytes already in the blob store. */
/** What every object that has bytes (or is a bundle) says about references: nothing. */
const NO_REFERENCE = { referenceUrl: null, referenceType: null, statedChecksums: [] } as const satisfies Pick<
  StoredObject,
  'referenceUrl' | 'referenceType' | 'statedChecksums'
>;

export interface NewInput {
  name: string;
  blob: StoredBlob;
  mimeType: string;
  description?: string;
}

export interface ResultsOutcome {
  bundleId: string;
  /** Files opened out of zips. */
  members: number;
  /** Zips that could not be opened, with why (kept as they are; the run still completes). */
  unreadable: { name: string; reason: string }[];
}

export interface DeletedResults {
  objects: number;
  bytes: number;
}

export class ObjectService {
  private readonly objects: Repository<StoredObject>;

  constructor(
    private readonly ds: DataSource,
    private readonly blobs: FsBlobStore,
  ) {
    this.objects = ds.getRepository(ObjectEntity);
  }

  async get(id: string): Promise<StoredObject | null> {
    if (!isObjectId(id)) return null;
    return this.objects.findOneBy({ id: id.toLowerCase() });
  }

  /** The objects among `ids` that exist, by id (one query whatever the number). */
  async getMany(ids: readonly string[]): Promise<Map<string, StoredObject>> {
    const valid = [...new Set(ids.filter(isObjectId).map((i) => i.toLowerCase()))];
    const found = new Map<string, StoredObject>();
    for (let i = 0; i < valid.length; i += 1000) {
      for (const o of await this.objects.findBy({ id: In(valid.slice(i, i + 1000)) })) found.set(o.id, o);
    }
    return found;
  }

  /** What a bundle lists, by name. */
  async children(bundleId: string): Promise<StoredObject[]> {
    return this.objects.find({ where: { parentId: bundleId }, order: { role: 'ASC', name: 'ASC' } });
  }

  /** Every object of a bundle, nested bundles included, in one recursive query. */
  async descendants(bundleId: string): Promise<StoredObject[]> {
    const rows: { id: string }[] = await this.ds.query(
      `WITH RECURSIVE t AS (SELECT id FROM objects WHERE parent_id = $1
         UNION ALL SELECT o.id FROM objects o JOIN t ON o.parent_id = t.id)
       SELECT id FROM t`,
      [bundleId],
    );
    return [...(await this.getMany(rows.map((r) => r.id))).values()];
  }

  async ofRun(runId: string, roles: StoredObject['role'][]): Promise<StoredObject[]> {
    return this.objects.find({ where: { runId, role: In(roles) }, order: { name: 'ASC' } });
  }

  async runBundle(runId: string): Promise<StoredObject | null> {
    return this.objects
      .createQueryBuilder('o')
      .where('o.run_id = :runId AND o.role = :role AND o.parent_id IS NULL', { runId, role: 'bundle' })
      .getOne();
  }

  /** Inside the run's creation transaction: its inputs, owned and tagged like the run. */
  async insertInputs(m: EntityManager, run: Pick<Run, 'id' | 'ownerIssuer' | 'ownerSubject' | 'tags' | 'createdAt'>, inputs: readonly NewInput[]): Promise<void> {
    if (!inputs.length) return;
    await m.getRepository(ObjectEntity).insert(
      inputs.map((f) => ({
        id: randomUUID(),
        runId: run.id,
        role: 'input' as const,
        name: f.name,
        description: f.description ?? `Input ${f.name} of imputation run ${run.id}`,
        size: f.blob.size,
        sha256: f.blob.sha256,
        md5: f.blob.md5,
        blobKey: f.blob.key,
        mimeType: f.mimeType,
        remoteRef: null,
        parentId: null,
        sourceId: null,
        ...NO_REFERENCE,
        ownerIssuer: run.ownerIssuer,
        ownerSubject: run.ownerSubject,
        datasets: datasetsOf(run.tags),
        createdAt: run.createdAt,
      })),
    );
  }

  /** An uploaded input no run uses yet: the caller's, to name in a run by its `drs://` URI. */
  async recordUpload(owner: { issuer: string; subject: string }, name: string, blob: StoredBlob): Promise<StoredObject> {
    const row: StoredObject = {
      id: randomUUID(),
      runId: null,
      role: 'input',
      name,
      description: `Upload ${name}`,
      size: blob.size,
      sha256: blob.sha256,
      md5: blob.md5,
      blobKey: blob.key,
      ...NO_REFERENCE,
      mimeType: 'application/gzip',
      remoteRef: null,
      parentId: null,
      sourceId: null,
      ownerIssuer: owner.issuer,
      ownerSubject: owner.subject,
      datasets: [],
      createdAt: new Date(),
    };
    try {
      await this.objects.insert(row);
    } catch (err) {
      await this.blobs.delete(blob.key);
      throw err;
    }
    return row;
  }

  /** The caller's uploads, newest first (a run that uses one has its own input object). */
  async uploadsOf(owner: { issuer: string; subject: string }, limit = 500): Promise<StoredObject[]> {
    return this.objects.find({
      where: { ownerIssuer: owner.issuer, ownerSubject: owner.subject, role: 'input', runId: IsNull() },
      order: { createdAt: 'DESC' },
      take: limit,
    });
  }

  /** Removes one of the caller's uploads (and its bytes, unless a run uses them); false if there is none. */
  async deleteUpload(owner: { issuer: string; subject: string }, id: string): Promise<boolean> {
    if (!isObjectId(id)) return false;
    const rows = returned<{ blob_key: string }>(
      await this.ds.query(
        `DELETE FROM objects WHERE id = $1 AND run_id IS NULL AND role = 'input' AND owner_issuer = $2 AND owner_subject = $3 RETURNING blob_key`,
        [id.toLowerCase(), owner.issuer, owner.subject],
      ),
    );
    await this.deleteUnreferencedBlobs(rows.map((r) => r.blob_key));
    return rows.length > 0;
  }

  /** Uploads older than `maxAgeMs` are removed (their bytes too, unless a run uses them). */
  async expireUploads(maxAgeMs: number): Promise<number> {
    const rows = returned<{ blob_key: string }>(
      await this.ds.query(
        `DELETE FROM objects WHERE run_id IS NULL AND role = 'input' AND created_at < now() - ($1::bigint * interval '1 millisecond') RETURNING blob_key`,
        [Math.round(maxAgeMs)],
      ),
    );
    await this.deleteUnreferencedBlobs([...new Set(rows.map((r) => r.blob_key))]);
    return rows.length;
  }

  /** One output, home with its checksums: recorded at once, so it is never downloaded twice. */
  async recordOutput(run: Run, name: string, blob: StoredBlob, remoteRef: string): Promise<StoredObject> {
    const row: StoredObject = {
      id: randomUUID(),
      runId: run.id,
      role: 'output',
      name,
      description: `Result ${name} of imputation run ${run.id}${run.backendId ? ` on ${run.backendId}` : ''}`,
      size: blob.size,
      sha256: blob.sha256,
      md5: blob.md5,
      blobKey: blob.key,
      mimeType: mimeTypeOf(name),
      remoteRef,
      parentId: null,
      sourceId: null,
      ...NO_REFERENCE,
      ownerIssuer: run.ownerIssuer,
      ownerSubject: run.ownerSubject,
      datasets: datasetsOf(run.tags),
      createdAt: new Date(),
    };
    try {
      await this.objects.insert(row);
    } catch (err) {
      await this.blobs.delete(blob.key);
      throw err;
    }
    return row;
  }

  /**
   * A result the backend keeps where the broker cannot read it: recorded with its URL and the
   * checksums the backend states (a DRS object only if it states one: DRS requires a checksum).
   */
  async recordReference(run: Run, name: string, reference: OutputReference, size: number | null, remoteRef: string): Promise<StoredObject> {
    const stated = (reference.checksums ?? []).map((c) => ({ type: c.type.toLowerCase().replace(/^sha256$/, 'sha-256'), checksum: c.checksum.toLowerCase() }));
    const row: StoredObject = {
      id: randomUUID(),
      runId: run.id,
      role: 'output',
      name,
      description: `Result ${name} of imputation run ${run.id}, kept by ${run.backendId ?? 'the backend'} at ${reference.url}`,
      size: size ?? 0,
      sha256: stated.find((c) => c.type === 'sha-256')?.checksum ?? '',
      md5: stated.find((c) => c.type === 'md5')?.checksum ?? '',
      blobKey: null,
      referenceUrl: reference.url,
      referenceType: reference.type,
      statedChecksums: stated,
      mimeType: mimeTypeOf(name),
      remoteRef,
      parentId: null,
      sourceId: null,
      ownerIssuer: run.ownerIssuer,
      ownerSubject: run.ownerSubject,
      datasets: datasetsOf(run.tags),
      createdAt: new Date(),
    };
    await this.objects.insert(row);
    return row;
  }

  /**
   * Once every output is home: opens the result zips with the run's password, then writes the
   * members, the bundles and the outputs' places in them in one transaction. Idempotent: a run
   * whose bundle exists is left as it is (a retry after a crash between this and the run's update).
   */
  async completeResults(run: Run, password: string, limits: { maxMemberBytes: number }): Promise<ResultsOutcome> {
    const existing = await this.runBundle(run.id);
    if (existing) return { bundleId: existing.id, members: 0, unreadable: [] };
    // Results registered by reference stay out of the bundle: its checksums cover bytes served here.
    const outputs = (await this.ofRun(run.id, ['output'])).filter((o) => o.blobKey !== null);
    const members: (BundleMember & { blob: StoredBlob; fromZip: string })[] = [];
    const unreadable: ResultsOutcome['unreadable'] = [];
    try {
      for (const zip of outputs.filter((o) => /\.zip$/i.test(o.name) && o.blobKey)) {
        try {
          const opened = await extractZipMembers(this.blobs, this.blobs.path(zip.blobKey!), password, limits);
          for (const m of opened) {
            members.push({ id: randomUUID(), name: m.name, size: m.blob.size, sha256: m.blob.sha256, md5: m.blob.md5, blob: m.blob, fromZip: zip.id });
          }
        } catch (err) {
          if (!(err instanceof ZipUnreadableError)) throw err;
          unreadable.push({ name: zip.name, reason: err.message });
        }
      }
      const plan = planRunBundles(run.id, outputs, members);
      const base = {
        ...NO_REFERENCE,
        runId: run.id,
        ownerIssuer: run.ownerIssuer,
        ownerSubject: run.ownerSubject,
        datasets: datasetsOf(run.tags),
        remoteRef: null,
        createdAt: new Date(),
      };
      await this.ds.transaction(async (m) => {
        const repo = m.getRepository(ObjectEntity);
        await repo.insert(
          plan.bundles.map((b) => ({
            ...base,
            id: b.id,
            role: 'bundle' as const,
            name: b.path,
            description: b.description,
            size: b.size,
            sha256: b.sha256,
            md5: b.md5,
            blobKey: null,
            mimeType: 'application/vnd.ga4gh.drs.bundle',
            parentId: b.parentId,
            sourceId: null,
          })),
        );
        if (members.length) {
          const zipName = new Map(outputs.map((o) => [o.id, o.name]));
          await repo.insert(
            members.map((f) => ({
              ...base,
              id: f.id,
              role: 'member' as const,
              name: f.name,
              description: `${f.name} from ${zipName.get(f.fromZip)} of imputation run ${run.id}`,
              size: f.size,
              sha256: f.sha256,
              md5: f.md5,
              blobKey: f.blob.key,
              mimeType: mimeTypeOf(f.name),
              parentId: plan.parentOf.get(f.id) ?? plan.root.id,
              sourceId: f.fromZip,
            })),
          );
        }
        for (const o of outputs) {
          await repo.update({ id: o.id }, { parentId: plan.parentOf.get(o.id) ?? plan.root.id });
        }
      });
      return { bundleId: plan.root.id, members: members.length, unreadable };
    } catch (err) {
      await Promise.all(members.map((f) => this.blobs.delete(f.blob.key)));
      throw err;
    }
  }

  /**
   * Deletes a run's results (outputs, members, bundles) in one statement, then the blobs no
   * other object names. Inputs stay: they are the user's data, not results.
   */
  async deleteResults(runId: string): Promise<DeletedResults> {
    const removed = returned<{ blob_key: string | null; size: string; role: string }>(
      await this.ds.query(`DELETE FROM objects WHERE run_id = $1 AND role IN ('output','member','bundle') RETURNING blob_key, size, role`, [runId]),
    );
    const keys = [...new Set(removed.map((r) => r.blob_key).filter((k): k is string => k !== null))];
    await this.deleteUnreferencedBlobs(keys);
    return {
      objects: removed.length,
      bytes: removed.filter((r) => r.role !== 'bundle').reduce((sum, r) => sum + Number(r.size), 0),
    };
  }

  /** Removes the blobs among `keys` that no object names any more. */
  async deleteUnreferencedBlobs(keys: readonly string[]): Promise<void> {
    if (!keys.length) return;
    const still: { blob_key: string }[] = await this.ds.query(`SELECT DISTINCT blob_key FROM objects WHERE blob_key = ANY($1::text[])`, [keys]);
    const used = new Set(still.map((r) => r.blob_key));
    await Promise.all(keys.filter((k) => !used.has(k)).map((k) => this.blobs.delete(k)));
  }

  /** For DRS service-info: how many objects, and how many bytes their blobs hold. */
  async stats(): Promise<{ objectCount: number; totalObjectSize: number }> {
    // Bytes stored, each blob once: objects that reuse an input's bytes add nothing.
    const [row] = (await this.ds.query(
      `SELECT (SELECT count(*) FROM objects)::bigint AS n,
              (SELECT COALESCE(sum(size), 0) FROM (SELECT DISTINCT ON (blob_key) size FROM objects WHERE blob_key IS NOT NULL) b)::bigint AS bytes`,
    )) as { n: string; bytes: string }[];
    return { objectCount: Number(row?.n ?? 0), totalObjectSize: Number(row?.bytes ?? 0) };
  }
}
