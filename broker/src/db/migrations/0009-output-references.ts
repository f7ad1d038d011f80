import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Results a backend keeps in storage the broker cannot read (DNAstack outputs as `gs://` URIs, a
 * WES node's `S3` paths) are registered by reference: a DRS object whose access method is that
 * URL, with the size and checksums the backend states (`stated_checksums`; `sha256`/`md5` are
 * empty unless stated). Such an object has no blob. One the backend gives no checksum for cannot
 * be a DRS object (DRS requires one): it is listed with its URL in the run's outputs only.
 *
 * Also: names need only be unique among a run's inputs and among its outputs.
 */
export class OutputReferences1764000000900 implements MigrationInterface {
  name = 'OutputReferences1764000000900';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objects ADD COLUMN reference_url text`);
    await q.query(`ALTER TABLE objects ADD COLUMN reference_type text CHECK (reference_type IN ('s3','gs','https','file','azure','drs','other'))`);
    await q.query(`ALTER TABLE objects ADD COLUMN stated_checksums jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`ALTER TABLE objects DROP CONSTRAINT objects_blob_check`);
    // A bundle has neither bytes nor a reference; anything else has exactly one of them.
    await q.query(`
      ALTER TABLE objects ADD CONSTRAINT objects_blob_check CHECK (
        CASE WHEN role = 'bundle' THEN blob_key IS NULL AND reference_url IS NULL
             ELSE (blob_key IS NULL) <> (reference_url IS NULL) END)`);
    await q.query(`ALTER TABLE objects ADD CONSTRAINT objects_reference_pair_check CHECK ((reference_url IS NULL) = (reference_type IS NULL))`);
    // A name is unique among a run's inputs and among its outputs (an output is never fetched
    // twice); files opened out of two zips, or two bundles, may share one.
    await q.query(`ALTER TABLE objects DROP CONSTRAINT run_files_run_id_role_name_key`);
    await q.query(`CREATE UNIQUE INDEX objects_run_file_name ON objects (run_id, role, name) WHERE role IN ('input','output')`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM objects WHERE reference_url IS NOT NULL`);
    await q.query(`DROP INDEX objects_run_file_name`);
    await q.query(`ALTER TABLE objects ADD CONSTRAINT run_files_run_id_role_name_key UNIQUE (run_id, role, name)`);
    await q.query(`ALTER TABLE objects DROP CONSTRAINT objects_reference_pair_check`);
    await q.query(`ALTER TABLE objects ADD COLUMN stated_checksums jsonb NOT NULL DEFAULT '[]'`);
    await q.query(`ALTER TABLE objects DROP CONSTRAINT objects_blob_check`);
    await q.query(`ALTER TABLE objects ADD CONSTRAINT objects_blob_check CHECK ((role = 'bundle') = (blob_key IS NULL))`);
    await q.query(`ALTER TABLE objects DROP COLUMN stated_checksums`);
    await q.query(`ALTER TABLE objects DROP COLUMN reference_type`);
    await q.query(`ALTER TABLE objects DROP COLUMN reference_url`);
  }
}
