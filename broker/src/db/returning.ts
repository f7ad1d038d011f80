/** TypeORM's postgres driver answers UPDATE/DELETE ... RETURNING with `[rows, rowCount]`, SELECT with `rows`. */
export function returned<T>(res: unknown): T[] {
  const r = res as unknown[];
  return (Array.isArray(r[0]) ? r[0] : r) as T[];
}
