import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GA4GH DRS (issue 4): every input and result is a DRS object. The run's files become the
 * `objects` table, which also holds what DRS needs beyond a run file:
 *
 * - `owner_issuer`/`owner_subject` and `datasets`: who may read it, without a join, so an object
 *   that no run uses yet (an upload) is governed the same way;
 * - `role` gains `member` (a file opened out of a result zip with the run's password) and
 *   `bundle` (a DRS bundle: a run's results, a directory of them, the members of one zip); a
 *   bundle has no blob, its `size` and checksums are computed from its contents once, when it is
 *   written;
 * - `parent_id`: the bundle an object is listed in (its `contents`), so bundles are read with one
 *   indexed query; `source_id`: for a member, the zip it was opened out of;
 * - `blob_key` is shared when the same bytes are used again (a cohort resubmitted to another
 *   backend by its `drs://` URI): a blob is removed only when no object names it any more.
 */
export class Objects1764000000000 implements MigrationInterface {
  name = 'Objects1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE run_files RENAME TO objects`);
    await q.query(`ALTER TABLE objects RENAME CONSTRAINT run_files_pkey TO objects_pkey`);
    await q.query(`ALTER TABLE objects ALTER COLUMN run_id DROP NOT NULL`);
    await q.query(`ALTER TABLE objects ALTER COLUMN blob_key DROP NOT NULL`);
    await q.query(`ALTER TABLE objects DROP CONSTRAINT IF EXISTS run_files_role_check`);
    await q.query(`ALTER TABLE objects ADD CONSTRAINT objects_role_check CHECK (role IN ('input','output','member','bundle'))`);
    await q.query(`ALTER TABLE objects ADD COLUMN owner_issuer text`);
    await q.query(`ALTER TABLE objects ADD COLUMN owner_subject text`);
    await q.query(`ALTER TABLE objects ADD COLUMN datasets text[] NOT NULL DEFAULT '{}'`);
    await q.query(`ALTER TABLE objects ADD COLUMN parent_id uuid REFERENCES objects(id) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE objects ADD COLUMN source_id uuid REFERENCES objects(id) ON DELETE CASCADE`);
    await q.query(`ALTER TABLE objects ADD COLUMN description text`);
    // Files stored before this migration belong to their run's owner and datasets.
    await q.query(`
      UPDATE objects o SET owner_issuer = r.owner_issuer, owner_subject = r.owner_subject,
             datasets = COALESCE((SELECT array_agg(trim(d)) FROM unnest(string_to_array(r.tags->>'dataset', ',')) AS d WHERE trim(d) <> ''), '{}')
        FROM runs r WHERE r.id = o.run_id`);
    await q.query(`ALTER TABLE objects ALTER COLUMN owner_issuer SET NOT NULL`);
    await q.query(`ALTER TABLE objects ALTER COLUMN owner_subject SET NOT NULL`);
    // A blob object always has bytes; a bundle never has.
    await q.query(`ALTER TABLE objects ADD CONSTRAINT objects_blob_check CHECK ((role = 'bundle') = (blob_key IS NULL))`);
    await q.query(`CREATE INDEX objects_parent ON objects (parent_id) WHERE parent_id IS NOT NULL`);
    await q.query(`CREATE INDEX objects_blob_key ON objects (blob_key) WHERE blob_key IS NOT NULL`);
    // One bundle of results per run.
    await q.query(`CREATE UNIQUE INDEX objects_run_bundle ON objects (run_id) WHERE role = 'bundle' AND parent_id IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM objects WHERE role IN ('member','bundle') OR run_id IS NULL`);
    await q.query(`DROP INDEX objects_run_bundle`);
    await q.query(`DROP INDEX objects_blob_key`);
    await q.query(`DROP INDEX objects_parent`);
    await q.query(`ALTER TABLE objects DROP CONSTRAINT objects_blob_check`);
    await q.query(`ALTER TABLE objects DROP COLUMN description`);
    await q.query(`ALTER TABLE objects DROP COLUMN source_id`);
    await q.query(`ALTER TABLE objects DROP COLUMN parent_id`);
    await q.query(`ALTER TABLE objects DROP COLUMN datasets`);
    await q.query(`ALTER TABLE objects DROP COLUMN owner_subject`);
    await q.query(`ALTER TABLE objects DROP COLUMN owner_issuer`);
    await q.query(`ALTER TABLE objects DROP CONSTRAINT objects_role_check`);
    await q.query(`ALTER TABLE objects ADD CONSTRAINT run_files_role_check CHECK (role IN ('input','output'))`);
    await q.query(`ALTER TABLE objects ALTER COLUMN blob_key SET NOT NULL`);
    await q.query(`ALTER TABLE objects ALTER COLUMN run_id SET NOT NULL`);
    await q.query(`ALTER TABLE objects RENAME CONSTRAINT objects_pkey TO run_files_pkey`);
    await q.query(`ALTER TABLE objects RENAME TO run_files`);
  }
}
