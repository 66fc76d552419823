// Unit tests of the expert app's logic (geometry, history, snapping, i18n).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['app/test/**/*.test.ts'], environment: 'node' },
});
