// Builds the console into dist/: hashed files the runtime serves under
// /assets/ with long-lived cache headers, and .vite/manifest.json, from which
// the runtime learns the entry's files and derives the Inertia asset version.
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  base: '/assets/',
  build: {
    outDir: 'dist',
    assetsDir: '',
    manifest: true,
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: { input: 'src/main.js' },
  },
});
