// The overview pages in a real browser: the usage dashboard (empty state,
// then charts after an agent ran; the window selector), the platform
// admin's live actor tree (an SVG picture that refreshes itself by partial
// reloads, folds, pauses), a 390 px pass, and a member who neither sees nor
// reaches the actor tree.

import assert from 'node:assert/strict';
import { run } from './harness.mjs';

/// Makes sure `page` has organization `slug` selected (the log-in may land
/// on the organization picker).
async function selectOrg(page, slug) {
  await page.goto('/');
  if (new URL(page.url()).pathname.startsWith('/orgs')) {
    await page.getByLabel('Organization').selectOption(slug);
    await page.waitForURL((url) => !url.pathname.startsWith('/orgs'));
    await page.goto('/');
  }
}

/// A JSON API call with the page's cookies and its XSRF token.
async function api(page, method, path, body) {
  const cookies = await page.context().cookies();
  const xsrf = cookies.find((c) => c.name === 'XSRF-TOKEN');
  assert.ok(xsrf, 'the console log-in sets the XSRF-TOKEN cookie');
  const res = await page.request.fetch(path, {
    method,
    headers: { 'X-XSRF-TOKEN': decodeURIComponent(xsrf.value), 'Content-Type': 'application/json' },
    data: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status(), body: text ? JSON.parse(text) : null };
}

run('overview', async ({ page, users, login, shot, newPage, use, allowErrors }) => {
  // -- the dashboard before anything ran --------------------------------------
  await login(page, users.admin);
  await selectOrg(page, 'acme');
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Actor tree' }).waitFor();
  const before = await api(page, 'GET', '/api/v1/usage');
  assert.equal(before.status, 200);
  if (before.body.totals.executions === 0) {
    await page.getByText(/No executions in the last 14 days/).waitFor();
    assert.equal(await page.locator('canvas').count(), 0);
    await shot('dashboard-empty');
  }

  // -- an agent runs -------------------------------------------------------------
  const made = await api(page, 'POST', '/api/v1/agents', {
    name: 'overview-bot', purpose: 'Dashboard test', state: 'active',
    system_prompt: 'Summarize in one sentence.',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const agentId = made.body.id;
  const started = await api(page, 'POST', `/api/v1/agents/${agentId}/executions`, {
    input: { message: 'The fleet ran three jobs today. All of them finished on time and nothing failed.' },
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  let status = 'queued';
  for (let i = 0; i < 100 && (status === 'queued' || status === 'running'); i += 1) {
    await page.waitForTimeout(100);
    status = (await api(page, 'GET', `/api/v1/executions/${started.body.id}`)).body.status;
  }
  assert.equal(status, 'succeeded');

  // -- the dashboard with usage: charts, totals, lists, the window selector ---
  await page.goto('/?days=7');
  await page.getByRole('heading', { name: 'Executions and cost per day' }).waitFor();
  await page.locator('canvas').first().waitFor();
  assert.ok(await page.locator('canvas').count() >= 3, 'three charts are drawn');
  const window = page.getByRole('navigation', { name: 'Time window' });
  assert.equal(await window.getByRole('link', { name: '7 days' }).getAttribute('aria-current'), 'true');
  const totals = page.getByRole('region', { name: 'Totals' });
  assert.match(await totals.innerText(), /Executions\s+1\b/i);
  await page.getByRole('link', { name: 'overview-bot' }).waitFor();
  await page.getByRole('region', { name: 'Recent executions' })
    .getByRole('link', { name: started.body.id.slice(-8) }).waitFor();
  // The charts have pixels (chart.js drew on them).
  const drawn = await page.locator('canvas').first().evaluate((c) => c.width > 0 && c.height > 0);
  assert.ok(drawn);
  await shot('dashboard-7-days');
  await window.getByRole('link', { name: '30 days' }).click();
  await page.waitForURL(/days=30/);
  await page.getByText(/to .* \(UTC\)/).waitFor();
  assert.equal(await window.getByRole('link', { name: '30 days' }).getAttribute('aria-current'), 'true');
  assert.ok(await page.locator('canvas').count() >= 3);
  await shot('dashboard-30-days');

  // -- the actor tree: a picture that refreshes itself ---------------------------
  await nav.getByRole('link', { name: 'Actor tree' }).click();
  await page.waitForURL(/\/system\/actors$/);
  await page.getByRole('heading', { name: 'Actor tree', level: 1 }).waitFor();
  const svg = page.locator('svg[aria-label^="Actor tree"]');
  await svg.waitFor();
  const nodes = svg.locator('g.node');
  const shown = await nodes.count();
  assert.ok(shown >= 3, `the tree shows actors (${shown})`);
  assert.ok(await svg.locator('.edges path').count() >= 1, 'edges join parents and children');
  assert.match(await svg.innerHTML(), /supervisor/);
  const partial = page.waitForRequest((req) => req.headers()['x-inertia-partial-data'] === 'tree', { timeout: 6000 });
  const stamp = await page.getByTestId('refreshed-at').innerText();
  await partial;
  await page.waitForFunction(
    (old) => document.querySelector('[data-testid="refreshed-at"]')?.textContent.trim() !== old,
    stamp, { timeout: 8000 });
  assert.match(await page.getByTestId('refreshed').innerText(), /^Live · updated/);
  await shot('actor-tree');

  // Folding a subtree with the keyboard.
  const first = svg.getByRole('button').first();
  await first.focus();
  await page.keyboard.press('Enter');
  assert.equal(await first.getAttribute('aria-expanded'), 'false');
  assert.ok(await nodes.count() < shown, 'folding hides the actors below');
  await page.keyboard.press('Enter');
  assert.equal(await first.getAttribute('aria-expanded'), 'true');

  // Paused: no more partial reloads.
  const pause = page.getByRole('button', { name: 'Pause' });
  await pause.click();
  const resume = page.getByRole('button', { name: 'Resume' });
  assert.equal(await resume.getAttribute('aria-pressed'), 'true');
  let reloads = 0;
  const count = (req) => { if (req.headers()['x-inertia-partial-data'] === 'tree') reloads += 1; };
  page.on('request', count);
  await page.waitForTimeout(4500);
  page.off('request', count);
  assert.equal(reloads, 0, 'a paused tree does not reload');
  assert.match(await page.getByTestId('refreshed').innerText(), /^Paused · updated/);
  await resume.click();
  await page.waitForRequest((req) => req.headers()['x-inertia-partial-data'] === 'tree', { timeout: 6000 });

  // -- 390 px ----------------------------------------------------------------------
  const phone = await newPage({ width: 390, height: 844 });
  use(phone);
  await login(phone, users.admin);
  await selectOrg(phone, 'acme');
  await phone.getByRole('heading', { name: 'Executions and cost per day' }).waitFor();
  assert.ok(await phone.locator('canvas').count() >= 3);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the dashboard fits 390 px (overflow ${overflow}px)`);
  await shot('dashboard-390', phone);
  await phone.goto('/system/actors');
  await phone.locator('svg[aria-label^="Actor tree"] g.node').first().waitFor();
  const treeOverflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(treeOverflow <= 1, `the actor tree scrolls inside its box (overflow ${treeOverflow}px)`);
  await shot('actor-tree-390', phone);

  // -- a member: no link, and the server refuses ----------------------------------
  const member = await newPage();
  use(member);
  allowErrors(/status of 403/);
  await login(member, users.member);
  await selectOrg(member, 'acme');
  await member.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  await member.locator('canvas').first().waitFor();
  assert.equal(await member.getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Actor tree' }).count(), 0);
  const refused = await member.goto('/system/actors');
  assert.equal(refused.status(), 403);
  assert.equal(await member.locator('svg[aria-label^="Actor tree"]').count(), 0);
  await member.getByText(/403|forbidden|not allowed|permission/i).first().waitFor();
  await shot('member-actor-tree-403', member);
  const apiRefused = await api(member, 'GET', '/admin/actors');
  assert.ok(apiRefused.status === 403 || apiRefused.status === 401);
});
