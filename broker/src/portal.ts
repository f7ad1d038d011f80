/**
 * The researchers' portal (portal/, SvelteKit with adapter-node) on the broker's own listener: the
 * embedded default serves it at `/` beside the APIs, so `npm start` is still one process and one
 * port. The portal stays a client: its server calls this broker over HTTP on loopback with the
 * browser's session cookie, like any other client; nothing here gives it a private way in.
 *
 * Paths the broker owns keep going to the broker; everything else goes to the portal, when its
 * build (portal/build/handler.js) is there. Without a build the broker serves its small HTML
 * page at `/` as before (the scaled-out image has no portal: it runs as its own service).
 */
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** adapter-node's request handler (polka-style middleware). */
export type PortalHandler = (req: IncomingMessage, res: ServerResponse, next?: () => void) => void;

export const DEFAULT_PORTAL_BUILD = fileURLToPath(new URL('../../portal/build', import.meta.url));

/** Path prefixes that stay the broker's when the portal is mounted. */
export const BROKER_PATH_PREFIXES = ['/ga4gh', '/api', '/auth', '/oidc', '/docs', '/workflows', '/healthz', '/readyz', '/metrics'] as const;

export function isBrokerPath(url: string): boolean {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  return BROKER_PATH_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

/** The address the portal's server reaches this broker at: loopback when listening on every interface. */
export function loopbackUrl(host: string, port: number): string {
  const h = host === '' || host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export interface PortalOptions {
  /** Where `vite build` put adapter-node's output. */
  buildDir?: string;
  /** This broker, as the portal's server calls it. */
  brokerUrl: string;
  /** The public origin browsers use (SvelteKit checks form posts' Origin against it). */
  publicUrl: string;
}

/**
 * Loads the built portal's handler, or null when there is no build. adapter-node reads its
 * settings from the environment once, when the handler is imported, hence the variables set
 * first: BROKER_URL is always this broker; ORIGIN and BODY_SIZE_LIMIT keep an operator's values
 * (the run upload streams through the portal to the WES endpoint, so no size limit there: the
 * portal refuses large bodies on every other route itself).
 */
export async function loadPortal(options: PortalOptions): Promise<PortalHandler | null> {
  const handlerFile = join(options.buildDir ?? DEFAULT_PORTAL_BUILD, 'handler.js');
  if (!existsSync(handlerFile)) return null;
  process.env.BROKER_URL = options.brokerUrl;
  process.env.ORIGIN ??= new URL(options.publicUrl).origin;
  process.env.BODY_SIZE_LIMIT ??= 'Infinity';
  const mod = (await import(pathToFileURL(handlerFile).href)) as { handler: PortalHandler };
  return mod.handler;
}
