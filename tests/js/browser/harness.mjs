// The browser-test harness: Debian's chromium driven by playwright-core
// against a node started by the C++ fixture (tests/console/console_fixture.hpp),
// which passes FP_BASE_URL, FP_ARTIFACTS and FP_PASSWORD. A run fails on any
// failed step and on any error the page logs to its console.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const base = process.env.FP_BASE_URL ?? 'http://127.0.0.1:8080';
const artifacts = process.env.FP_ARTIFACTS ?? 'test-artifacts/console';
const password = process.env.FP_PASSWORD ?? 'correct horse';

export const users = {
  admin: { email: 'admin@example.com', password },
  member: { email: 'member@example.com', password },
  newbie: { email: 'newbie@example.com', password },
  founder: { email: 'founder@example.com', password },
};

/// Chromium flags for a closed network and a root user (no sandbox).
const launchArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launch() {
  return chromium.launch({
    executablePath: process.env.FP_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: launchArgs,
  });
}

/// A new page (own browser context: own cookies) that records every console
/// error and uncaught exception into `errors`.
export async function newPage(browser, errors, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, baseURL: base });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${page.url()})`);
  });
  page.on('pageerror', (err) => errors.push(`exception: ${err.message} (${page.url()})`));
  return page;
}

/// Logs `user` in through the log-in form and waits for the first page after it.
export async function login(page, user) {
  await page.goto('/login');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/// Runs `body` with a fresh browser; exits 0 when it passed and no page logged
/// an error, else prints why and exits 1.
export async function run(name, body) {
  const dir = join(artifacts);
  mkdirSync(dir, { recursive: true });
  const errors = [];
  const allowed = [];
  const browser = await launch();
  let step = 0;
  let current;
  const shot = async (label, page = current) => {
    step += 1;
    const file = join(dir, `${String(step).padStart(2, '0')}-${label.replace(/[^a-z0-9-]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
  };
  let failed = false;
  try {
    const page = await newPage(browser, errors);
    current = page;
    await body({
      page, base, users, browser, shot,
      login: (p, user) => login(p, user),
      newPage: async (viewport) => {
        const p = await newPage(browser, errors, viewport);
        return p;
      },
      use: (p) => { current = p; },
      // Console errors a step provokes on purpose (e.g. the browser's
      // "status of 403" line when a member opens an admin page).
      allowErrors: (re) => { allowed.push(re); },
    });
  } catch (err) {
    failed = true;
    console.error(`${name}: FAILED: ${err.stack ?? err}`);
    try { if (current) await shot('failure', current); } catch { /* page gone */ }
  } finally {
    await browser.close();
  }
  const unexpected = errors.filter((e) => !allowed.some((re) => re.test(e)));
  if (unexpected.length) {
    failed = true;
    console.error(`${name}: the page logged errors:\n  ${unexpected.join('\n  ')}`);
  }
  if (!failed) console.log(`${name}: passed`);
  process.exit(failed ? 1 : 0);
}
