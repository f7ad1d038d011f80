/** MIME types of the files imputation produces and takes, by extension. */
const MIME: Record<string, string> = {
  zip: 'application/zip',
  txt: 'text/plain',
  html: 'text/html',
  gz: 'application/gzip',
  csv: 'text/csv',
  json: 'application/json',
  md5: 'text/plain',
  log: 'text/plain',
  tbi: 'application/octet-stream',
};

export function mimeTypeOf(name: string): string {
  const ext = name.toLowerCase().split('.').pop() ?? '';
  return MIME[ext] ?? 'application/octet-stream';
}
