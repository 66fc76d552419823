// The runner of the expert app's browser stories (web/e2e/stories, one
// file per story), started by server/app_browser_test.go
// (TestExpertAppInBrowser), which serves the fixture endpoint RZ_FIXTURES
// (a fresh database and server per test) and reads the JSON report.
// Debian's Chromium only: nothing here or in package.json runs
// `playwright install`.
import { defineConfig } from '@playwright/test';
import { chromiumArgs } from './browser.mjs';

export default defineConfig({
  testDir: './stories',
  outputDir: process.env.RZ_RESULTS || '../../.data/e2e-results',
  // One worker: the CI machine has 2 cores, shared by the browser, the
  // server and PostgreSQL, and the budgets story measures a first render.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['json', { outputFile: process.env.RZ_REPORT || '../../.data/e2e-results/report.json' }]],
  use: {
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: chromiumArgs },
    screenshot: 'only-on-failure',
    trace: 'off',
    video: 'off',
  },
});
