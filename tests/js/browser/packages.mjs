// The package pages in a real browser: an admin browses and searches the
// catalog, opens fleetprompt/support-triage, installs 1.0.0 through the form
// generated from its config_schema (a first submit without the required
// webhook URL and with a malformed secret shows both errors inline, next to
// their fields), watches the installation become installed, upgrades it to
// 1.1.0, reconfigures it, disables and enables it, and uninstalls it after a confirmation. A
// member sees no install button and is refused the install page; the
// catalog fits 390 px.

import { run } from './harness.mjs';

const pkg = 'fleetprompt/support-triage';
const secret = 'whsec_c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1zaG93';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/// Selects `acme` when the session has no organization yet.
async function ensureOrg(page) {
  if (new URL(page.url()).pathname.startsWith('/orgs')) {
    await page.getByLabel('Organization').first().selectOption('acme');
    await page.waitForURL((url) => !url.pathname.startsWith('/orgs'));
  }
}

/// Waits until the installation page shows state `state` (it refreshes
/// itself while the installer works).
async function waitForState(page, state, timeout = 30000) {
  await page.locator('.page-head .state .badge', { hasText: new RegExp(`^${state}`) })
    .waitFor({ timeout });
}

/// Fails when the page is wider than its viewport, naming the elements
/// that stick out.
async function fits(page, what) {
  const wide = await page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 1)
      // What a scrolling box (.table-wrap) clips does not widen the page.
      .filter((el) => {
        for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
          if (getComputedStyle(p).overflowX !== 'visible') return false;
        }
        return true;
      })
      .slice(0, 8)
      .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${[...el.classList].join('.')} (${Math.round(el.getBoundingClientRect().right)} px)`);
  });
  check(wide.length === 0, `${what} overflows ${await page.evaluate(() => window.innerWidth)} px: ${wide.join(', ')}`);
}

run('packages', async ({ page, users, login, shot, newPage, use, allowErrors }) => {
  await login(page, users.admin);
  await ensureOrg(page);

  // -- the catalog ---------------------------------------------------------------------
  await page.goto('/packages');
  await page.getByRole('heading', { name: 'Packages', level: 1 }).waitFor();
  for (const name of [pkg, 'fleetprompt/text-kit', 'fleetprompt/daily-digest']) {
    await page.getByRole('link', { name, exact: true }).waitFor();
  }
  await shot('catalog');
  await page.getByLabel('Search packages').fill('triage');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL('**/packages?q=triage');
  await page.getByRole('link', { name: 'fleetprompt/text-kit' }).waitFor({ state: 'detached' });
  await page.getByRole('link', { name: pkg, exact: true }).waitFor();
  await shot('catalog-search');
  await page.getByLabel('Search packages').fill('no-such-thing');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('No package matches').waitFor();
  await page.getByLabel('Search packages').fill('triage');
  await page.getByRole('button', { name: 'Search' }).click();

  // -- the package ---------------------------------------------------------------------
  await page.getByRole('link', { name: pkg, exact: true }).click();
  await page.waitForURL(`**/packages/${pkg}`);
  await page.getByRole('heading', { name: /support-triage/, level: 1 }).waitFor();
  // The latest version is shown: 1.1.0 with its permissions and capabilities.
  await page.getByText('v1.1.0').first().waitFor();
  await page.getByRole('heading', { name: 'Permissions' }).waitFor();
  await page.getByText('directive:webhook.post').first().waitFor();
  await page.getByText('triage.escalate').first().waitFor();
  await page.getByRole('cell', { name: /webhook_secret/ }).waitFor();
  await shot('package-detail');
  await page.getByRole('link', { name: '1.0.0', exact: true }).click();
  await page.waitForURL(`**/packages/${pkg}?version=1.0.0`);
  await page.getByRole('cell', { name: /urgent_keywords/ }).waitFor();

  // -- install 1.0.0 through the generated form ----------------------------------------------
  await page.getByRole('link', { name: 'Install 1.0.0' }).click();
  await page.waitForURL(`**/packages/${pkg}/install?version=1.0.0`);
  await page.getByLabel('Version').waitFor();
  check(await page.getByLabel('Version').inputValue() === '1.0.0', 'the install form is not for 1.0.0');
  // Fields generated from the schema: required ones marked, defaults filled,
  // the secret a password input; permissions checked as requested.
  const secretInput = page.getByLabel('Webhook secret');
  check(await secretInput.getAttribute('type') === 'password', 'the secret field is not a password input');
  check(await secretInput.inputValue() === '', 'the secret field is prefilled');
  check(await page.getByLabel('Urgent keywords').inputValue() === 'urgent|outage', 'the default is not prefilled');
  check(await page.getByRole('checkbox', { name: 'directive:webhook.post' }).isChecked(), 'a requested permission is not checked');
  check(await page.getByRole('checkbox', { name: 'signals:read:support.*' }).isChecked(), 'a requested permission is not checked');
  await shot('install-form');

  // A first submit without the required URL and with a malformed secret.
  await secretInput.fill('not-a-secret');
  await page.getByRole('button', { name: 'Install 1.0.0' }).click();
  await page.locator('#cfg-webhook_url-error').waitFor();
  check(/required/i.test(await page.locator('#cfg-webhook_url-error').innerText()),
    'the missing webhook URL is not reported next to its field');
  await page.locator('#cfg-webhook_secret-error').waitFor();
  check(await page.getByLabel('Webhook url').getAttribute('aria-invalid') === 'true', 'the field is not marked invalid');
  check(page.url().includes('/install'), 'a refused install left the form');
  await shot('install-form-errors');
  // The refused secret is not echoed back by the server (the input keeps
  // what was typed as a DOM property, never as markup).
  check(!(await page.content()).includes('not-a-secret'), 'the refused secret came back from the server');

  // Fixed: the install goes through.
  await page.getByLabel('Webhook url').fill('http://127.0.0.1:9/escalations');
  await page.getByLabel('Urgent keywords').fill('urgent|outage|asap');
  await secretInput.fill(secret);
  await page.getByRole('button', { name: 'Install 1.0.0' }).click();
  await page.waitForURL(/\/installations\/[0-9a-f-]{36}$/);
  await waitForState(page, 'installed');
  await page.getByRole('heading', { name: /support-triage/, level: 1 }).waitFor();
  await page.getByRole('cell', { name: 'escalations' }).waitFor();
  await page.getByText('webhook_secret').first().waitFor();
  check(!(await page.content()).includes(secret), 'the secret is shown on the installation page');
  await shot('installed');
  const installationUrl = page.url();

  // -- upgrade to 1.1.0 ---------------------------------------------------------------------
  await page.getByRole('link', { name: 'Upgrade…' }).click();
  await page.waitForURL(/\/change\?package=/);
  check(await page.getByLabel('Version').inputValue() === '1.1.0', 'the upgrade does not offer the latest version');
  await page.getByLabel('Escalation keywords').waitFor();
  check(await page.getByLabel('Webhook secret').inputValue() === '', 'the secret is prefilled on the upgrade form');
  await shot('upgrade-form');
  await page.getByRole('button', { name: 'Upgrade to 1.1.0' }).click();
  await page.waitForURL(installationUrl);
  await waitForState(page, 'installed');
  await page.locator('h1', { hasText: 'v1.1.0' }).waitFor();
  await page.getByRole('cell', { name: /upgrade to 1\.1\.0/ }).first().waitFor();
  await shot('upgraded');

  // -- reconfigure: only the changed field is sent, the secret is kept ------------------------------
  await page.getByRole('link', { name: 'Reconfigure…' }).click();
  await page.waitForURL(/\/change\?package=.*&version=1\.1\.0/);
  // The upgrade sent only what changed, so its rename step kept the value.
  check(await page.getByLabel('Escalation keywords').inputValue() === 'urgent|outage|asap',
    'the renamed field did not keep its value through the upgrade');
  await page.getByLabel('Escalation keywords').fill('urgent|down');
  await page.getByRole('button', { name: 'Save configuration' }).click();
  await page.waitForURL(installationUrl);
  await waitForState(page, 'installed');
  await page.getByText('urgent|down').waitFor();
  await page.getByText('webhook_secret').first().waitFor();
  await shot('reconfigured');

  // -- disable, enable -------------------------------------------------------------------------
  await page.getByRole('button', { name: 'Disable' }).click();
  await waitForState(page, 'disabled');
  await page.getByText('Installation disabled.').waitFor();
  await shot('disabled');
  await page.getByRole('button', { name: 'Enable' }).click();
  await waitForState(page, 'installed');
  await shot('enabled');

  // -- what a member sees --------------------------------------------------------------------
  const member = await newPage();
  use(member);
  await login(member, users.member);
  await ensureOrg(member);
  await member.goto(`/packages/${pkg}`);
  await member.getByRole('heading', { name: 'Permissions' }).waitFor();
  check(await member.getByRole('link', { name: /^Install( [0-9.]+)?$/ }).count() === 0, 'a member sees the install button');
  await member.goto(installationUrl);
  await waitForState(member, 'installed');
  check(await member.getByRole('button', { name: 'Disable' }).count() === 0, 'a member sees the admin actions');
  allowErrors(/status of 403/);
  await member.goto(`/packages/${pkg}/install`);
  await member.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await shot('member-refused', member);
  use(page);

  // -- uninstall, confirmed -------------------------------------------------------------------
  await page.getByRole('button', { name: 'Uninstall…' }).click();
  await page.getByRole('alertdialog').waitFor();
  await shot('uninstall-confirm');
  await page.getByRole('button', { name: 'Yes, uninstall' }).click();
  await waitForState(page, 'uninstalled');
  await shot('uninstalled');
  await page.goto('/installations');
  await page.getByRole('link', { name: pkg }).first().waitFor();
  await shot('installations');

  // -- 390 px ------------------------------------------------------------------------------------
  const phone = await newPage({ width: 390, height: 844 });
  use(phone);
  await login(phone, users.admin);
  await ensureOrg(phone);
  await phone.goto('/packages');
  await phone.getByRole('link', { name: pkg, exact: true }).waitFor();
  await fits(phone, 'the catalog');
  await shot('catalog-390', phone);
  await phone.goto(`/packages/${pkg}`);
  await phone.getByRole('heading', { name: 'Capabilities' }).waitFor();
  await fits(phone, 'the package page');
  await shot('package-390', phone);
  await phone.goto(`/packages/${pkg}/install`);
  await phone.getByLabel('Webhook url').waitFor();
  await fits(phone, 'the install form');
  await shot('install-390', phone);
});
