/**
 * Demo users of the dev OIDC provider for the conformance suites: a user's access token (the
 * authorization-code + PKCE login the portal does, walked by the broker's test browser) and the
 * user's GA4GH Passport (RFC 8693 token exchange at the provider's token endpoint by the
 * portal's confidential client `portal-server`, as the portal's server side does).
 *
 * Users (broker/src/dev/users.ts): `alice` holds a ControlledAccessGrants visa for the dataset
 * `demo`; `bob` has no visas; `admin` is an administrator.
 */
import type { DevOidc } from '@ibroker/broker/dev/oidc';
import { fetchDevPassport, PORTAL_SERVER_CLIENT } from '@ibroker/broker/dev/oidc';
import { userTokens } from '@ibroker/broker/dev/test-support';

export const DEMO_USERS = ['alice', 'bob', 'admin'] as const;
export type DemoUser = (typeof DEMO_USERS)[number];

/** A user's Passport-Scoped Access Token (the demo users' password is their name). */
export async function userAccessToken(oidc: DevOidc, brokerUrl: string, user: DemoUser): Promise<string> {
  // The broker registers `<publicUrl>/auth/callback` as the portal's redirect URI at its dev provider.
  const tokens = await userTokens(oidc, { username: user, password: user, redirectUri: `${brokerUrl}/auth/callback` });
  return tokens.access_token;
}

/** The user's Passport (a JWT with their visas), exchanged for their access token. */
export function userPassport(oidc: DevOidc, accessToken: string): Promise<string> {
  return fetchDevPassport(oidc.tokenEndpoint, accessToken, PORTAL_SERVER_CLIENT.clientId, PORTAL_SERVER_CLIENT.clientSecret);
}
