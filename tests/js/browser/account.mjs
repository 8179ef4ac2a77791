// The account pages in a real browser: a newcomer logs in, creates two
// organizations and switches between them, adds a member and changes their
// role, creates an API key (its secret shown once, and working), rotates
// and revokes it, and logs out; a member on a phone-sized screen sees no
// admin-only navigation or forms and is refused the API keys page.

import assert from 'node:assert/strict';
import { run } from './harness.mjs';

async function keyWorks(base, secret) {
  const res = await fetch(`${base}/api/v1/session`, { headers: { Authorization: `Bearer ${secret}` } });
  return res.status === 200;
}

run('account', async ({ page, base, login, shot, users, newPage, use, allowErrors }) => {
  // -- log in (a wrong password first) --------------------------------------
  await page.goto('/login');
  await page.getByLabel('Email').fill(users.newbie.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Wrong email or password.').waitFor();
  await shot('login-wrong-password');

  await login(page, users.newbie);
  // Without an organization the console asks for one.
  assert.equal(new URL(page.url()).pathname, '/orgs');
  await page.getByText('You are not in any organization yet').waitFor();
  await shot('orgs-empty');

  // -- create an organization (a bad slug first) ----------------------------
  await page.getByLabel('Name').fill('Newbie Labs');
  assert.equal(await page.getByLabel('Slug').inputValue(), 'newbie_labs');
  await page.getByLabel('Slug').fill('9labs');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.locator('#slug-error').waitFor();
  assert.match(await page.locator('#slug-error').innerText(), /lower-case letter/);
  await shot('orgs-invalid-slug');
  await page.getByLabel('Slug').fill('newbie_labs');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await page.getByText('Organization Newbie Labs created.').waitFor();
  await shot('org-created');

  // A second one, then switch back to the first.
  await page.goto('/orgs');
  await page.getByLabel('Name').fill('Second Shop');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await page.goto('/orgs');
  await page.getByRole('button', { name: 'Switch to Newbie Labs' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await page.getByText('Now working in newbie_labs.').waitFor();
  await page.goto('/orgs');
  await page.locator('li.org.current', { hasText: 'Newbie Labs' }).waitFor();
  assert.equal(await page.getByLabel('Organization', { exact: true }).inputValue(), 'newbie_labs');
  await shot('orgs-switched');

  // -- members ---------------------------------------------------------------------
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click();
  await page.waitForURL((url) => url.pathname === '/members');
  await page.getByRole('heading', { name: /Members/ }).waitFor();
  // An unknown person is a readable field error.
  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.locator('#email-error').waitFor();
  assert.match(await page.locator('#email-error').innerText(), /no user/);
  await page.getByLabel('Email').fill(users.member.email);
  await page.getByLabel('Role', { exact: true }).selectOption('member');
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByText(`Added ${users.member.email}.`).waitFor();
  const row = page.getByRole('row', { name: new RegExp(users.member.email) });
  await row.waitFor();
  // Change the role, then remove (two steps).
  await page.getByLabel(`Role of ${users.member.email}`).selectOption('admin');
  await row.getByRole('button', { name: 'Save role' }).click();
  await page.getByText(`Saved the role of ${users.member.email}.`).waitFor();
  assert.equal(await page.getByLabel(`Role of ${users.member.email}`).inputValue(), 'admin');
  await shot('members-role-changed');
  await row.getByRole('button', { name: `Remove ${users.member.email}…` }).click();
  await row.getByRole('button', { name: `Remove ${users.member.email}`, exact: true }).click();
  await page.getByText('Member removed.').waitFor();
  assert.equal(await page.getByRole('row', { name: new RegExp(users.member.email) }).count(), 0);
  // Add them back for good (they are used below).
  await page.getByLabel('Email').fill(users.member.email);
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByRole('row', { name: new RegExp(users.member.email) }).waitFor();
  await shot('members');

  // -- API keys --------------------------------------------------------------------
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
  await page.waitForURL((url) => url.pathname === '/api-keys');
  await page.getByText('No API keys yet').waitFor();
  await page.getByLabel('Name').fill('ci deploy');
  await page.getByRole('checkbox', { name: /write/ }).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const secretBox = page.getByTestId('api-key-secret');
  await secretBox.waitFor();
  const secret = (await secretBox.innerText()).trim();
  assert.ok(secret.length > 20, `secret looks short: ${secret}`);
  assert.ok(await keyWorks(base, secret), 'the new key does not authenticate');
  await shot('api-key-created-secret-once');
  // The list shows only the prefix; dismissing drops the secret for good.
  const keyRow = page.getByRole('row', { name: /ci deploy/ });
  await keyRow.waitFor();
  assert.ok(!(await keyRow.innerText()).includes(secret));
  await page.getByRole('button', { name: 'I have stored it' }).click();
  await secretBox.waitFor({ state: 'detached' });
  await page.reload();
  await keyRow.waitFor();
  assert.equal(await page.getByTestId('api-key-secret').count(), 0);
  assert.ok(!(await page.content()).includes(secret), 'the secret came back after a reload');

  // Rotate: a new secret, shown once.
  await keyRow.getByRole('button', { name: 'Rotate ci deploy' }).click();
  await secretBox.waitFor();
  const rotated = (await secretBox.innerText()).trim();
  assert.notEqual(rotated, secret);
  assert.ok(await keyWorks(base, rotated), 'the rotated key does not authenticate');
  await shot('api-key-rotated');
  await page.getByRole('button', { name: 'I have stored it' }).click();

  // Revoke (two steps): the key stops working.
  await keyRow.getByRole('button', { name: 'Revoke ci deploy' }).click();
  await keyRow.getByRole('button', { name: 'Revoke now' }).click();
  await page.getByText('API key revoked.').waitFor();
  await page.getByRole('row', { name: /ci deploy/ }).getByText('revoked').waitFor();
  assert.ok(!(await keyWorks(base, rotated)), 'a revoked key still authenticates');
  await shot('api-key-revoked');

  // Keyboard: the create form is reachable and labelled.
  await page.getByLabel('Name').focus();
  await page.keyboard.type('kb key');
  await page.keyboard.press('Enter');
  await secretBox.waitFor();
  await page.getByRole('button', { name: 'I have stored it' }).click();

  // -- log out ---------------------------------------------------------------------
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((url) => url.pathname === '/login');
  await page.goto('/members');
  await page.waitForURL((url) => url.pathname === '/login');
  await shot('logged-out');

  // -- a member on a 390 px screen --------------------------------------------------
  const phone = await newPage({ width: 390, height: 844 });
  use(phone);
  await login(phone, users.member);
  // In two organizations now (acme and newbie_labs): the picker comes first.
  assert.equal(new URL(phone.url()).pathname, '/orgs');
  await shot('orgs-390-member');
  await phone.getByRole('button', { name: 'Switch to Acme Support' }).click();
  await phone.waitForURL((url) => url.pathname === '/');
  await phone.goto('/members');
  await phone.getByRole('heading', { name: /Members/ }).waitFor();
  // No admin forms or buttons for a member.
  assert.equal(await phone.getByRole('button', { name: 'Add member' }).count(), 0);
  assert.equal(await phone.getByRole('button', { name: /^Remove/ }).count(), 0);
  await phone.getByText('Only admins and owners').waitFor();
  await phone.getByRole('button', { name: 'Menu' }).click();
  const nav = phone.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Members' }).waitFor();
  assert.equal(await nav.getByRole('link', { name: 'API keys' }).count(), 0);
  // No horizontal scrolling of the page itself.
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the members page scrolls sideways by ${overflow}px at 390 px`);
  await shot('members-390-member');
  // The server refuses the page itself, whatever the navigation shows.
  allowErrors(/status of 403/);
  const res = await phone.goto('/api-keys');
  assert.equal(res.status(), 403);
  await phone.getByRole('heading', { name: 'Not allowed' }).waitFor();
  await shot('api-keys-403-member');
  // The log-in page at 390 px.
  await phone.getByRole('button', { name: 'Log out' }).click();
  await phone.waitForURL((url) => url.pathname === '/login');
  await phone.getByRole('button', { name: 'Log in' }).waitFor();
  await shot('login-390');
});
