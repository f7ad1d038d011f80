import type { SessionInfo } from '$lib/server/session';

declare global {
  namespace App {
    interface Error {
      message: string;
      /** The API's status code when the error came from the broker. */
      status?: number;
    }
    interface Locals {
      /** The broker's view of this browser's login (GET /auth/session), never a token. */
      session: SessionInfo;
    }
    // interface PageData {}
    // interface PageState {}
    // interface Platform {}
  }
}

export {};
