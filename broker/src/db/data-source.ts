import { DataSource } from 'typeorm';
import { entities } from './entities';
import { Initial1763800000000 } from './migrations/0001-initial';
import { Audit1763900000000 } from './migrations/0002-audit';
import { Vault1763900000001 } from './migrations/0003-vault';
import { Sessions1763900000002 } from './migrations/0004-sessions';
import { Objects1764000000000 } from './migrations/0005-objects';
import { Backends1764000000150 } from './migrations/0007-backends';
import { Events1764100000000 } from './migrations/0006-events';
import { OutputReferences1764000000900 } from './migrations/0009-output-references';
import { Routing1764200000000 } from './migrations/0008-routing';

/** Builds and initializes the DataSource, applying pending migrations (PostgreSQL only). */
export async function openDatabase(url: string, options: { poolSize?: number } = {}): Promise<DataSource> {
  const ds = new DataSource({
    type: 'postgres',
    url,
    entities,
    migrations: [
      Initial1763800000000,
      Audit1763900000000,
      Vault1763900000001,
      Sessions1763900000002,
      Objects1764000000000,
      Backends1764000000150,
      OutputReferences1764000000900,
      Events1764100000000,
      Routing1764200000000,
    ],
    migrationsRun: false,
    synchronize: false,
    logging: false,
    extra: { max: options.poolSize ?? 20 },
  });
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
