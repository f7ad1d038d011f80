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

  /** The parts of a client the hooks and grant handlers look at. */
  export interface Client {
    clientId: string;
  }

  /** Koa context as oidc-provider hands it to configuration hooks; opaque to us. */
  export type KoaContextWithOIDC = object;

  /** What a custom grant handler (`registerGrantType`) sees of the token request and answers with. */
  export interface GrantContext {
    oidc: {
      /** The registered parameters of the request (a parameter sent twice is refused before). */
      params: Record<string, string | undefined>;
      /** The authenticated client. */
      client: Client;
    };
    /** The JSON response body. */
    body: unknown;
  }

  /** An access token, ClientCredentials or other token as the JWT format customizer sees it. */
  export interface TokenModel {
    /** `AccessToken`, `ClientCredentials`, ... */
    kind: string;
    /** Set for tokens issued to a user (authorization code, refresh), absent for client credentials. */
    accountId?: string;
    clientId?: string;
  }

  /** The JWT about to be signed, handed to `formats.customizers.jwt` for changes. */
  export interface StructuredJwt {
    header?: Record<string, unknown>;
    payload: Record<string, unknown>;
  }

  /** A pending login/consent interaction (`interactionDetails`). */
  export interface Interaction {
    uid: string;
    prompt: {
      name: string;
      reasons: string[];
      details: {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
        [key: string]: unknown;
      };
    };
    params: Record<string, unknown>;
    session?: { accountId?: string };
    grantId?: string;
    returnTo: string;
  }

  export type InteractionResults =
    | { login: { accountId: string } }
    | { consent: { grantId?: string } }
    | { error: string; error_description?: string };

  /** The consent record an authorization request is checked against. */
  export interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  /** What `findAccount` returns. */
  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

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
    /** Adds a token endpoint grant type; `params` are the request parameters it may read. */
    registerGrantType(name: string, handler: (ctx: GrantContext) => Promise<void>, params?: string[], dupes?: string[]): void;
    /** The interaction behind the request's interaction cookie; throws SessionNotFound without one. */
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    /** Stores the result and answers 303 to the authorization endpoint to resume. */
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly Grant: GrantConstructor;
  }

  /** OAuth error classes; throwing one from a hook produces the matching OAuth error response. */
  export const errors: {
    InvalidTarget: new (description?: string) => Error;
    InvalidRequest: new (description?: string) => Error;
    InvalidGrant: new (description?: string) => Error;
    SessionNotFound: new (description?: string) => Error;
  };

  export default Provider;
}
