// The expert app (app/) is built into dist/app and served by the binary
// under /app/ (server/app.go).
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'app',
  base: '/app/',
  build: {
    outDir: '../dist/app',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
  },
});
