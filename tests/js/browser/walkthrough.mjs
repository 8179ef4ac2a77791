// The console's first-hour story, end to end in a real browser: a new user
// logs in, creates an organization, installs an example package through the
// form generated from its config schema, emits a signal, watches the
// execution it triggers appear live with its cost, approves the directive it
// proposed (and the signed webhook arrives at a local receiver), then opens
// the dashboard and the actor tree. Every step leaves a screenshot.

import http from 'node:http';
import { run } from './harness.mjs';

// The support team's endpoint: a local server that records what arrives.
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    received.push({ headers: req.headers, body });
    res.writeHead(204);
    res.end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${receiver.address().port}/escalations`;

async function until(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

run('walkthrough', async ({ page, users, login, shot }) => {
  // 1. A new user logs in and, belonging nowhere yet, lands on the organizations page.
  await login(page, users.founder);
  await page.waitForURL('**/orgs');
  await shot('logged-in');

  // 2. Creates an organization, which becomes the selected one.
  await page.getByLabel('Name').fill('Northwind Support');
  await page.getByLabel('Slug').fill('northwind');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL((url) => url.pathname !== '/orgs');
  await page.getByRole('combobox', { name: 'Organization' }).waitFor();
  await until('northwind to be selected', async () =>
    (await page.getByRole('combobox', { name: 'Organization' }).inputValue()) === 'northwind');
  await shot('org-created');

  // 3. Installs the support-triage package through the generated form.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Packages' }).click();
  await page.getByRole('link', { name: /support-triage/ }).first().click();
  await page.getByRole('heading', { level: 1 }).waitFor();
  await shot('package-detail');
  await page.getByRole('main').getByRole('link', { name: /^Install [0-9.]+$/ }).click();
  await page.getByLabel('Webhook url').fill(hookUrl);
  await page.getByLabel('Webhook secret').fill(`whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`);
  await shot('install-form');
  await page.getByRole('button', { name: /^Install [0-9.]+$/ }).click();
  await page.waitForURL('**/installations/**');
  await page.locator('.page-head .state .badge', { hasText: /^installed/ }).waitFor({ timeout: 30000 });
  await shot('installed');

  // 4. Opens the executions list, then emits a ticket from the signals explorer
  //    in a second tab; the execution appears in the first without a reload.
  await page.goto('/executions');
  await page.getByRole('heading', { level: 1, name: /Executions/ }).waitFor();
  const tab = await page.context().newPage();
  await tab.goto('/signals');
  await tab.getByLabel('Signal type').fill('support.ticket.created');
  await tab.getByLabel('Payload (JSON object)').fill(JSON.stringify({
    ticket_id: 'T-1001', subject: 'Checkout is down', body: 'Urgent: outage on the checkout page since 9:00.',
  }));
  await tab.getByRole('button', { name: 'Emit signal' }).click();
  await tab.getByText('support.ticket.created').first().waitFor();
  await shot('signal-emitted', tab);
  await tab.close();

  const row = page.locator('tbody tr', { hasText: 'support-triage' }).first();
  await row.waitFor({ timeout: 20000 });
  await shot('execution-appeared');
  await row.getByRole('link').first().click();
  await page.waitForURL('**/executions/**');
  await until('the execution to finish with a cost', async () =>
    (await page.getByText(/succeeded/).count()) > 0 && (await page.getByText(/\$0\.\d+/).count()) > 0);
  await shot('execution-detail');

  // 5. Approves the escalation the agent proposed; the signed webhook arrives.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Directives' }).click();
  const approve = page.getByRole('button', { name: /^Approve webhook\.post/ }).first();
  await approve.waitFor();
  await shot('directive-waiting');
  await approve.click();
  await until('the webhook delivery', async () => received.length > 0);
  const hook = received[0];
  if (!hook.headers['webhook-signature']?.startsWith('v1,')) throw new Error('the delivery is not signed');
  await shot('directive-approved');

  // 6. The dashboard shows the run's usage; the actor tree shows the live actors.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
  await page.locator('canvas').first().waitFor();
  await shot('dashboard');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Actor tree' }).click();
  await page.locator('svg').first().waitFor();
  await shot('actor-tree');
  receiver.close();
});
