/** The one route that takes a large body: the run upload, streamed to the broker. */
export const UPLOAD_PATH = '/runs/new/upload';
/** Every other form (settings, cancel, filters) is small. */
export const MAX_FORM_BYTES = 64 * 1024;
