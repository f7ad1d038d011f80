/** The standalone portal's liveness (docker HEALTHCHECK); in the embedded default /healthz is the broker's. */
import { json } from '@sveltejs/kit';

export const GET = () => json({ status: 'ok' });
