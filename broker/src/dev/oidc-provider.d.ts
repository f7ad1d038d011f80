/**
 * oidc-provider ships no type declarations (and `@types/oidc-provider` lags behind v9), so this is
 * the smallest surface the dev provider uses. It is deliberately loose on configuration (the
 * library validates it at start-up and throws on anything it does not understand) and strict on
 * what we call. Extend it when you use more of the library; never widen it to `any`.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { EventEmitter } from 'node:events';

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    scope?: string;
    [key: string]: unknown;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  /** The parts of a client the resource-indicator hooks look at. */
  export interface Client {
    clientId: string;
  }

  /** Koa context as oidc-provider hands it to configuration hooks; opaque to us. */
  export type KoaContextWithOIDC = object;

  export interface Configuration {
    clients?: ClientMetadata[];
    jwks?: { keys: object[] };
    cookies?: { keys?: string[] };
    scopes?: string[];
    features?: Record<string, object>;
    [key: string]: unknown;
  }

  export class Provider extends EventEmitter {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** Koa's `app.proxy`: trust X-Forwarded-Proto/Host. */
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  }

  /** OAuth error classes; throwing one from a hook produces the matching OAuth error response. */
  export const errors: {
    InvalidTarget: new (description?: string) => Error;
  };

  export default Provider;
}
