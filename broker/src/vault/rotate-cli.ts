/**
 * `npx tsx scripts/rotate-key.ts --new-key-file <path>`: re-encrypts every sealed secret
 * (vault credentials and run result passwords) under a new key, in one transaction, and prints
 * counts and key ids, never a secret.
 *
 * A rotation without downtime: (1) give every replica both keys, current first (SECRET_KEY or the
 * key file take several, see crypto/box.ts `parseKeys`); (2) run this; (3) put the new key first
 * (or alone) everywhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import { createKeyRing, createSecretBox, loadOrCreateKey, parseKeys, type KeyRing } from '../crypto/box';
import { openDatabase } from '../db/data-source';
import { CREDENTIALS_SEALED, DEFAULT_BATCH_SIZE, RUN_PASSWORDS_SEALED, ResealError, WEBHOOK_SECRETS_SEALED, countNotUnder, resealColumn, type SealedColumn } from './rotate';

export const SEALED_COLUMNS: readonly SealedColumn[] = [CREDENTIALS_SEALED, RUN_PASSWORDS_SEALED, WEBHOOK_SECRETS_SEALED];

const USAGE = `usage: npx tsx scripts/rotate-key.ts --new-key-file <path> [--key-file <path>] [--batch-size <n>] [--dry-run]

Re-encrypts every stored secret under the key in --new-key-file (created, 0600, when missing).
  DATABASE_URL     the broker's database (required)
  SECRET_KEY       the key(s) in use now; else --key-file, else \${DATA_DIR:-.data}/secret.key
  --dry-run        only count what would be re-encrypted`;

export interface RotateKeyIo {
  env: NodeJS.ProcessEnv;
  print(line: string): void;
  /** For tests: a database already open (DATABASE_URL is then not needed). */
  ds?: DataSource;
}

const MAX_PASSES = 3;

function currentKeys(env: NodeJS.ProcessEnv, keyFile: string | undefined): { ring: KeyRing; from: string } {
  if (env.SECRET_KEY) return { ring: createKeyRing(parseKeys(env.SECRET_KEY)), from: 'SECRET_KEY' };
  const file = keyFile ?? join(resolve(env.DATA_DIR || '.data'), 'secret.key');
  // Never create the current key: a missing one means the wrong path, not a fresh install.
  if (!existsSync(file)) throw new Error(`no current key: set SECRET_KEY or give --key-file (${file} does not exist)`);
  return { ring: createKeyRing(parseKeys(readFileSync(file, 'utf8'))), from: file };
}

export async function rotateKeyCommand(argv: string[], io: RotateKeyIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'new-key-file': { type: 'string' },
        'key-file': { type: 'string' },
        'batch-size': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    io.print(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.print(USAGE);
    return 0;
  }
  const newKeyFile = args['new-key-file'];
  if (!newKeyFile) {
    io.print(`--new-key-file is required\n${USAGE}`);
    return 2;
  }
  const batchSize = args['batch-size'] === undefined ? DEFAULT_BATCH_SIZE : Number(args['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    io.print('--batch-size must be a whole number, at least 1');
    return 2;
  }

  let ds = io.ds;
  let committed = 0;
  try {
    const current = currentKeys(io.env, args['key-file']);
    const created = !existsSync(newKeyFile);
    if (created && args['dry-run']) throw new Error(`${newKeyFile} does not exist (a dry run creates nothing)`);
    const newKeys = created ? [loadOrCreateKey(null, newKeyFile)] : parseKeys(readFileSync(newKeyFile, 'utf8'));
    const target = createSecretBox(newKeys[0]!);
    const opener = createKeyRing([...current.ring.boxes, ...newKeys]);
    io.print(`current key(s) from ${current.from}: ${current.ring.keyIds.join(', ')}`);
    io.print(`new key ${target.keyId} from ${newKeyFile}${created ? ' (created, mode 0600)' : ''}`);

    if (!ds) {
      if (!io.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
      ds = await openDatabase(io.env.DATABASE_URL, { poolSize: 2 });
    }
    const db = ds;
    for (const col of SEALED_COLUMNS) io.print(`${col.name}: ${await countNotUnder(db, col, target.keyId)} to re-encrypt`);
    if (args['dry-run']) return 0;

    const totals = new Map<string, number>(SEALED_COLUMNS.map((c) => [c.name, 0]));
    let remaining = 0;
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      const done = await db.transaction(async (m) => {
        const counts: Array<[string, number]> = [];
        for (const col of SEALED_COLUMNS) counts.push([col.name, await resealColumn(m, col, opener, target, { batchSize })]);
        return counts;
      });
      for (const [name, n] of done) {
        totals.set(name, (totals.get(name) ?? 0) + n);
        committed += n;
      }
      remaining = 0;
      for (const col of SEALED_COLUMNS) remaining += await countNotUnder(db, col, target.keyId);
      // Rows sealed meanwhile by replicas still on the old key: take them in another pass.
      if (remaining === 0) break;
    }
    for (const [name, n] of totals) io.print(`${name}: ${n} re-encrypted`);
    if (remaining > 0) {
      io.print(`${remaining} row(s) were sealed under an old key while rotating: some replica still seals with it; run again once every replica has the new key first`);
      return 1;
    }
    io.print(`done: everything is sealed under ${target.keyId}. Make it the first (or only) key of every replica (SECRET_KEY or the key file) and restart them.`);
    return 0;
  } catch (err) {
    const message = err instanceof ResealError ? err.message : `rotation failed: ${(err as Error).message}`;
    io.print(message);
    if (committed > 0) io.print(`${committed} row(s) re-encrypted by an earlier pass stay under the new key; keep both keys until a rerun succeeds`);
    return 1;
  } finally {
    if (ds && !io.ds) await ds.destroy();
  }
}
