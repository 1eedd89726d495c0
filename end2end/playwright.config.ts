import { defineConfig } from '@playwright/test';

// Runs against the release binary built by `make build`, on a fresh SQLite database.
const port = Number(process.env.E2E_PORT ?? 3310);
const dbDir = `/tmp/gc-e2e-${process.pid}`;

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    },
  },
  projects: [
    { name: 'hydrated', testIgnore: /no-js/ },
    { name: 'no-js', testMatch: /no-js/, use: { javaScriptEnabled: false } },
  ],
  webServer: {
    command: `rm -rf ${dbDir} && mkdir -p ${dbDir} && ./target/release/gateway-console create-account --username viewer --role Viewer && ./target/release/gateway-console`,
    cwd: '..',
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      DATABASE_URL: `sqlite:${dbDir}/console.db`,
      CONSOLE_KEK_FILE: `${dbDir}/kek`,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: 'target/site',
      CONSOLE_ADMIN_USERNAME: 'admin',
      CONSOLE_ADMIN_PASSWORD: 'e2e-admin-password',
      CONSOLE_DEMO: '1',
      CONSOLE_NEW_PASSWORD: 'e2e-viewer-password',
      CONSOLE_USAGE_FLUSH_INTERVAL: '1',
      CONSOLE_AUTHZ_TRUST_PROXY_HEADERS: '1',
      RUST_LOG: 'warn',
    },
  },
});
