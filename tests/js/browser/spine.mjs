// The spine pages: the signals explorer (emit through the form, live tail,
// filters, a signal's correlation chain, replay), the directive approval
// queue (policy set through the console, approve and reject), the
// dead-letter jobs (retry and cancel), a member's view, and a 390 px pass.

import { run } from './harness.mjs';
import assert from 'node:assert/strict';

const stamp = Date.now().toString(36);

async function xsrf(page) {
  const cookie = (await page.context().cookies()).find((c) => c.name === 'XSRF-TOKEN');
  assert.ok(cookie, 'the console set an XSRF-TOKEN cookie at log-in');
  return decodeURIComponent(cookie.value);
}

async function propose(page, body) {
  const res = await page.request.post('/api/v1/directives', {
    data: body, headers: { 'X-XSRF-TOKEN': await xsrf(page) },
  });
  assert.equal(res.status(), 201, await res.text());
  return res.json();
}

/// Reloads `page` until `check()` holds (background work: jobs, directives).
async function eventually(page, check, what, tries = 30) {
  for (let i = 0; i < tries; i += 1) {
    if (await check()) return;
    await page.waitForTimeout(500);
    await page.reload();
  }
  throw new Error(`timed out waiting for ${what}`);
}

/// The page has no horizontal scrolling (390 px pass).
async function fits(page, what) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, width: window.innerWidth,
  }));
  assert.ok(scroll <= width + 1, `${what} overflows horizontally: ${scroll} > ${width}`);
}

run('spine', async ({ page, login, users, shot, newPage, use, allowErrors }) => {
  // The refused emit answers 422 and a member's visit to /jobs 403: the
  // browser logs both responses on purpose.
  allowErrors(/status of 422/);
  allowErrors(/status of 403/);

  await login(page, users.admin);

  // -- signals: live tail, emit, errors ----------------------------------------
  await page.goto('/signals');
  await page.getByRole('heading', { name: 'Signals', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Live tail' }).click();
  await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  const urlBefore = page.url();

  const type = `spine.test.emitted_${stamp}`;
  await page.getByLabel('Signal type').fill(type);
  await page.getByLabel('Payload (JSON object)').fill('{"hello": "world", "n": 1}');
  await page.getByRole('button', { name: 'Emit signal' }).click();
  const table = page.locator('table');
  const liveRow = table.getByRole('row').filter({ hasText: type });
  await liveRow.waitFor();
  await liveRow.getByText('new').waitFor();
  assert.equal(page.url(), urlBefore, 'the live tail showed the signal without a page visit');
  await shot('signals-live-tail');

  // An unreadable payload is refused in the form, a bad type by the API.
  await page.getByLabel('Payload (JSON object)').fill('{"oops": ');
  await page.getByRole('button', { name: 'Emit signal' }).click();
  await page.getByRole('alert').filter({ hasText: 'Not valid JSON' }).waitFor();
  await page.getByLabel('Payload (JSON object)').fill('{}');
  await page.getByLabel('Signal type').fill('Not A Type!');
  await page.getByRole('button', { name: 'Emit signal' }).click();
  await page.getByRole('alert').filter({ hasText: /type/i }).waitFor();
  await shot('signals-emit-refused');

  // A second type that the filter must hide.
  await page.getByLabel('Signal type').fill(`other.thing_${stamp}`);
  await page.getByRole('button', { name: 'Emit signal' }).click();
  await table.getByRole('row').filter({ hasText: `other.thing_${stamp}` }).waitFor();
  await page.getByRole('button', { name: 'Stop live tail' }).click();

  // -- filter by type -----------------------------------------------------------
  await page.getByLabel('Type prefix').fill('spine.test');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.waitForURL(/type=spine\.test/);
  await page.getByRole('heading', { name: 'Matching signals' }).waitFor();
  await table.getByRole('link', { name: type }).waitFor();
  assert.equal(await table.getByText(`other.thing_${stamp}`).count(), 0, 'the type filter hides other types');
  await shot('signals-filtered');

  // A refused filter keeps the page and says why.
  await page.goto('/signals?since=yesterday');
  await page.getByRole('alert').filter({ hasText: 'These filters were refused' }).waitFor();

  // -- one signal and its chain ----------------------------------------------------
  await page.goto(`/signals?type=${type}`);
  await table.getByRole('link', { name: type }).click();
  await page.waitForURL(/\/signals\/[0-9a-f-]{36}$/);
  const signalUrl = page.url();
  await page.getByRole('heading', { name: type, level: 1 }).waitFor();
  await page.getByText('"hello": "world"').first().waitFor();
  const chain = page.getByRole('region', { name: 'Correlation chain' });
  await chain.getByRole('listitem').first().waitFor();
  await chain.locator('[aria-current="true"]').filter({ hasText: type }).waitFor();
  await shot('signal-chain');

  // Admins may replay.
  await page.getByRole('button', { name: 'Replay' }).click();
  await page.getByText('Replay started').first().waitFor();
  await page.getByText(/Replay correlation/).first().waitFor();

  // -- directives: policy through the console, approve -------------------------------
  await page.goto('/directives');
  const policy = page.getByRole('form', { name: 'Policy of signal.emit' });
  await policy.getByLabel('Mode').selectOption('approval');
  await policy.getByLabel('Approver role').selectOption('admin');
  await policy.getByRole('button', { name: 'Save policy of signal.emit' }).click();
  await page.getByText('Policy saved.').first().waitFor();

  const directed = `spine.directed_${stamp}`;
  const d = await propose(page, { type: 'signal.emit', params: { type: directed, payload: { n: 1 } } });
  assert.equal(d.state, 'awaiting_approval', 'the policy holds signal.emit for approval');
  await page.goto('/directives');
  await page.getByRole('heading', { name: 'awaiting approval' }).waitFor();
  await shot('directives-queue');
  await page.getByRole('button', { name: `Approve signal.emit …${d.id.slice(-8)}` }).click();
  await page.getByText('Directive approved').first().waitFor();

  await page.goto(`/directives/${d.id}`);
  await eventually(page, async () => (await page.locator('h1').getByText('succeeded').count()) > 0,
    'the approved directive to succeed');
  const transitions = page.getByRole('region', { name: 'Transitions' });
  await transitions.getByText('directive.succeeded').first().waitFor();
  await transitions.getByText('directive.approved').first().waitFor();
  const full = page.getByRole('region', { name: 'Correlation chain' });
  await full.getByRole('link', { name: directed }).waitFor();
  await page.getByText('"signal_id"').first().waitFor();
  await shot('directive-succeeded');
  // The signal it emitted, with the directive in its chain.
  await full.getByRole('link', { name: directed }).click();
  await page.getByRole('heading', { name: directed, level: 1 }).waitFor();
  await page.getByRole('region', { name: 'Correlation chain' }).getByText('signal.emit').first().waitFor();

  // Reject with a reason.
  const r = await propose(page, { type: 'signal.emit', params: { type: `spine.never_${stamp}` } });
  await page.goto(`/directives/${r.id}`);
  await page.getByLabel('Reason for rejecting').fill('not in this quarter');
  await page.getByRole('button', { name: 'Reject' }).click();
  await page.getByText('Directive rejected.').first().waitFor();
  await page.locator('h1').getByText('rejected').waitFor();
  await page.getByText('not in this quarter').first().waitFor();
  await shot('directive-rejected');

  // -- dead-letter jobs ------------------------------------------------------------------
  await page.goto('/jobs');
  await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
  const probes = page.locator('li.job').filter({ hasText: 'spine.dead_letter_probe' });
  await eventually(page, async () => (await probes.count()) === 2, 'two discarded probe jobs');
  await probes.first().getByText('no handler for job kind').first().waitFor();
  await shot('jobs-dead-letter');
  const first = probes.nth(0);
  const firstTitle = await first.locator('h2').innerText();
  const firstId = firstTitle.match(/#(\d+)/)[1];
  await first.getByRole('button', { name: `Retry job ${firstId}` }).click();
  await page.getByText('Job queued again.').first().waitFor();
  // It runs again and is discarded again, now with two errors.
  const again = page.locator('li.job').filter({ hasText: `#${firstId} ` });
  await eventually(page, async () => (await again.getByText('Attempt 2').count()) > 0,
    'the retried job to fail its second attempt');
  const second = page.locator('li.job').filter({ hasText: 'spine.dead_letter_probe' })
    .filter({ hasNotText: `#${firstId} ` });
  const secondId = (await second.locator('h2').innerText()).match(/#(\d+)/)[1];
  await second.getByRole('button', { name: `Cancel job ${secondId}` }).click();
  await page.getByText('Job cancelled.').first().waitFor();
  await page.getByLabel('State').selectOption('cancelled');
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForURL(/state=cancelled/);
  await page.locator('li.job').filter({ hasText: `#${secondId} ` }).waitFor();
  await shot('jobs-cancelled');

  // -- a member: no dead letters, no replay, no approval ------------------------------------
  const member = await newPage();
  use(member);
  await login(member, users.member);
  const denied = await member.goto('/jobs');
  assert.equal(denied.status(), 403);
  await member.goto(signalUrl);
  await member.getByRole('heading', { name: type, level: 1 }).waitFor();
  assert.equal(await member.getByRole('button', { name: 'Replay' }).count(), 0, 'members cannot replay');
  const held = await propose(page, { type: 'signal.emit', params: { type: `spine.held_${stamp}` } });
  await member.goto('/directives');
  await member.getByText('needs admin').first().waitFor();
  assert.equal(await member.getByRole('button', { name: `Approve signal.emit …${held.id.slice(-8)}` }).count(), 0);
  assert.equal(await member.getByRole('form', { name: 'Policy of signal.emit' }).count(), 0, 'members do not edit policies');
  // The server refuses a member's approval too.
  const forced = await member.request.post(`/directives/${held.id}/approve`, {
    headers: { 'X-XSRF-TOKEN': await xsrf(member), 'X-Inertia': 'true', Referer: `${new URL(signalUrl).origin}/directives` },
    maxRedirects: 0,
  });
  assert.equal(forced.status(), 303);
  const check = await member.request.get(`/api/v1/directives/${held.id}`);
  assert.equal((await check.json()).state, 'awaiting_approval', 'a member could not approve');
  await shot('member-directives', member);

  // -- 390 px -------------------------------------------------------------------------------
  const phone = await newPage({ width: 390, height: 844 });
  use(phone);
  await login(phone, users.admin);
  for (const [path, label] of [['/signals', 'signals'], [signalUrl, 'signal'], ['/directives', 'directives'],
    [`/directives/${d.id}`, 'directive'], ['/jobs?state=all', 'jobs']]) {
    await phone.goto(path);
    await phone.locator('main h1').first().waitFor();
    await phone.waitForTimeout(300);
    await fits(phone, label);
    await shot(`phone-${label}`, phone);
  }
  await phone.goto('/signals');
  await phone.getByRole('button', { name: 'Live tail' }).click();
  await phone.getByRole('status').filter({ hasText: 'Live' }).waitFor();
  await phone.getByLabel('Signal type').fill(`spine.phone_${stamp}`);
  await phone.getByRole('button', { name: 'Emit signal' }).click();
  await phone.locator('table').getByRole('row').filter({ hasText: `spine.phone_${stamp}` }).waitFor();
  await fits(phone, 'signals with the live tail');
});
