import { defineConfig } from 'vitest/config';

// Where `npm run dev` and `npm run preview` send /api: a `backplane serve`
// on its default address, or BACKPLANE_API when set.
declare const process: { env: Record<string, string | undefined> };
const api = process.env.BACKPLANE_API || 'http://127.0.0.1:8470';

// The Go server embeds dist/ and serves it at `/`, with the API at /api/v1.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 3000,
    rolldownOptions: {
      onwarn(warning, warn) {
        // React Flow ships a "use client" directive, which means nothing here.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: {
    port: 5173,
    proxy: {
      '/api': { target: api, changeOrigin: false },
    },
  },
  preview: {
    port: 4173,
    proxy: {
      '/api': { target: api, changeOrigin: false },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
