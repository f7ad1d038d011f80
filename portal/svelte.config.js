import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  compilerOptions: { runes: true },
  kit: {
    // `build/handler.js` is what the broker mounts in its own listener (embedded default) and what
    // server.js serves beside its proxy to the broker (standalone). precompress: sirv serves the
    // .br/.gz files, so the page weight is what the bundles weigh compressed.
    adapter: adapter({ out: 'build', precompress: true }),
    // SvelteKit refuses cross-site form posts (Origin check) on every form action and endpoint:
    // the portal forwards the broker's CSRF token, so it must never do that for another site.
    csrf: { trustedOrigins: [] },
    // Inline scripts: SvelteKit's own hydration script only; nothing from elsewhere.
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        'img-src': ['self', 'data:'],
        'connect-src': ['self'],
        'form-action': ['self'],
        'frame-ancestors': ['none'],
        'base-uri': ['self'],
        'object-src': ['none'],
      },
    },
  },
};
