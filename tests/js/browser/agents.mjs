// The agents pages in a real browser: an admin creates an agent with the
// local model, test-runs it and watches the execution page fill in over
// SSE, sees a new execution appear live in the list, chats with the agent
// (streamed reply, intact after a refresh even mid-reply), a member sees no
// admin controls and is refused the admin pages, and one page at 390 px.

import { run } from './harness.mjs';

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const prefix = '[local deterministic model]';

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/// Waits until `fn()` (run in the page) is truthy.
async function until(page, fn, arg, timeout = 15000) {
  await page.waitForFunction(fn, arg, { timeout, polling: 100 });
}

/// Selects `acme` when the session has no organization yet.
async function ensureOrg(page) {
  if (new URL(page.url()).pathname.startsWith('/orgs')) {
    await page.getByLabel('Organization').first().selectOption('acme');
    await page.waitForURL((url) => !url.pathname.startsWith('/orgs'));
  }
}

/// An API call from inside the page, as its user (cookie + CSRF header).
async function api(page, method, url, body) {
  return page.evaluate(async ({ method, url, body }) => {
    const m = document.cookie.match(/(?:^|;\s*)XSRF-TOKEN=([^;]*)/);
    const res = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': m ? decodeURIComponent(m[1]) : '' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }, { method, url, body });
}

/// Horizontal overflow of the page (0 when it fits its viewport).
async function overflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

run('agents', async ({ page, users, login, shot, newPage, use, allowErrors }) => {
  await login(page, users.admin);
  await ensureOrg(page);

  // -- create an agent -------------------------------------------------------------
  await page.goto('/agents');
  await shot('agents-empty');
  await page.getByRole('link', { name: 'New agent' }).click();
  await page.waitForURL('**/agents/new');
  // A rule violation comes back inline, next to its field.
  await page.getByRole('button', { name: 'Create agent' }).click();
  await page.getByText('must not be empty').first().waitFor();
  await shot('agent-form-error');
  await page.getByLabel(/^Name/).fill('Helpdesk bot');
  await page.getByLabel('Purpose', { exact: true }).fill('Answers support questions with a short summary.');
  await page.getByLabel('Instructions (system prompt)').fill('Answer in at most 2 sentences.');
  check(await page.getByLabel(/^Model/).inputValue() === 'local-extractive', 'the default model is local-extractive');
  await page.getByLabel('Subscriptions (signal triggers)').fill('helpdesk.question');
  await page.getByLabel('Daily budget (USD)').fill('5');
  await page.getByLabel(/Activate now/).check();
  await page.getByRole('button', { name: 'Create agent' }).click();
  await page.waitForURL(new RegExp(`/agents/${uuid}$`));
  const agentId = page.url().match(new RegExp(uuid))[0];
  await page.getByText('Agent created.').waitFor();
  await page.getByRole('heading', { name: /Helpdesk bot/ }).waitFor();
  await page.getByText('$5').first().waitFor();
  await shot('agent-created');

  // Pause and resume.
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  await page.getByText('paused', { exact: true }).first().waitFor();
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.getByRole('button', { name: 'Pause' }).waitFor();

  // Edit.
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.waitForURL(`**/agents/${agentId}/edit`);
  await page.getByLabel('Purpose', { exact: true }).fill('Answers support questions briefly.');
  await page.getByRole('button', { name: 'Save agent' }).click();
  await page.waitForURL(new RegExp(`/agents/${agentId}$`));
  await page.getByText('Answers support questions briefly.').waitFor();

  // -- test run: the execution page fills in live -------------------------------------
  const question = 'My printer shows error E42 after the update. The paper tray is full. '
    + 'I restarted it twice and the error is still there. What should I do next?';
  await page.getByLabel('Input message').fill(question);
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(new RegExp(`/executions/${uuid}$`));
  const execId = page.url().match(new RegExp(uuid))[0];
  const status = page.getByTestId('execution-status');
  const first = (await status.textContent()).trim();
  console.log(`execution ${execId} first shown as ${first}`);
  await until(page, () => document.querySelector('[data-testid="execution-status"]')?.textContent.trim() === 'succeeded');
  await until(page, () => document.querySelector('[data-testid="tokens-out"]')?.textContent.trim() !== '0');
  const output = await page.getByTestId('output').textContent();
  check(output.includes(prefix), `the output is the local model's answer: ${output}`);
  const cost = (await page.getByTestId('cost').textContent()).trim();
  check(cost.startsWith('$'), `the cost is shown as money: ${cost}`);
  await page.getByRole('table', { name: 'Events' }).getByText('usage').waitFor();
  await page.getByText('Finished: succeeded').waitFor();
  check(!(await page.getByRole('button', { name: 'Cancel' }).isVisible()), 'no cancel button once finished');
  await shot('execution-done');

  // -- executions list: a new execution appears without a reload ---------------------
  await page.getByRole('link', { name: 'Executions', exact: true }).first().click();
  await page.waitForURL('**/executions');
  await page.getByRole('link', { name: execId.slice(-8) }).waitFor();
  await page.getByText('Live', { exact: true }).waitFor();
  const rows = await page.getByRole('table', { name: 'Executions' }).locator('tbody tr').count();
  const started = await api(page, 'POST', `/api/v1/agents/${agentId}/executions`, { input: { message: 'Second question about invoices.' } });
  check(started.status === 202, `a second run is queued: ${JSON.stringify(started)}`);
  await page.getByRole('link', { name: started.body.id.slice(-8) }).waitFor();
  await until(page, (n) => document.querySelectorAll('table[aria-label="Executions"] tbody tr').length > n, rows);
  await shot('executions-live');
  // Filters are the API's.
  await page.getByLabel('Status').selectOption('failed');
  await page.waitForURL('**/executions?status=failed');
  await page.getByText('Nothing matches these filters.').waitFor();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.getByRole('link', { name: execId.slice(-8) }).waitFor();

  // -- chat: a streamed reply that survives a refresh ----------------------------------
  await page.goto(`/agents/${agentId}`);
  await page.getByLabel('Conversation title').fill('Printer trouble');
  await page.getByRole('button', { name: 'Start a chat' }).click();
  await page.waitForURL(new RegExp(`/chat/${uuid}$`));
  const convId = page.url().match(new RegExp(uuid))[0];
  await page.getByText('Live', { exact: true }).waitFor();
  // Record every text the reply shows, to see it arrive over the stream.
  await page.evaluate(() => {
    window.__replyTexts = [];
    new MutationObserver(() => {
      const last = [...document.querySelectorAll('article.msg.assistant .text')].pop();
      if (last) window.__replyTexts.push(last.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByLabel('Message', { exact: true }).fill(question);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('article.msg.user').first().waitFor();
  await until(page, () => document.querySelector('article.msg.assistant')?.dataset.status === 'complete');
  const reply = await page.locator('article.msg.assistant .text').first().textContent();
  check(reply.startsWith(prefix), `the reply is the agent's: ${reply}`);
  const seen = await page.evaluate(() => window.__replyTexts.length);
  console.log(`the reply changed ${seen} times on the page while it streamed`);
  await shot('chat-reply');

  // Refresh after the reply: the conversation is intact.
  await page.reload();
  await page.locator('article.msg').nth(1).waitFor();
  check(await page.locator('article.msg').count() === 2, 'two messages after a refresh');
  check((await page.locator('article.msg.assistant .text').first().textContent()) === reply, 'the reply is intact after a refresh');

  // Refresh while the next reply is (probably) still streaming: it resumes
  // without losing or repeating text.
  await page.getByLabel('Message', { exact: true }).fill('And what about the paper jam light? It blinks twice.');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('article.msg.user').nth(1).waitFor();
  await page.reload();
  await until(page, () => {
    const replies = document.querySelectorAll('article.msg.assistant');
    return replies.length === 2 && replies[1].dataset.status === 'complete';
  });
  const stored = await api(page, 'GET', `/api/v1/conversations/${convId}`);
  const shown = await page.locator('article.msg .text').allTextContents();
  const expected = stored.body.messages.map((m) => m.content);
  check(JSON.stringify(shown) === JSON.stringify(expected),
    `the page shows exactly the stored messages:\n${JSON.stringify(shown)}\n${JSON.stringify(expected)}`);
  await shot('chat-after-refresh');

  // The local model answers faster than a person refreshes, so the refresh
  // above may come after the reply ended. Make the mid-reply case certain:
  // serve the page as the server would have while the last reply was 20
  // bytes in; the page must resume the stream there and end with exactly
  // the stored text, none lost or repeated.
  const cut = 20;
  let rewritten = false;
  await page.route(`**/chat/${convId}`, async (route) => {
    const res = await route.fetch();
    const html = (await res.text()).replace(
      /(<script data-page="app" type="application\/json">)([\s\S]*?)(<\/script>)/,
      (all, open, text, close) => {
        const pageObject = JSON.parse(text);
        const messages = pageObject.props.conversation.messages;
        const last = messages[messages.length - 1];
        last.content = last.content.slice(0, cut);
        last.status = 'streaming';
        rewritten = true;
        return open + JSON.stringify(pageObject).replace(/</g, '\\u003c') + close;
      });
    await route.fulfill({ response: res, body: html });
  });
  await page.goto(`/chat/${convId}`);
  await page.unroute(`**/chat/${convId}`);
  check(rewritten, 'the page was served mid-reply');
  await until(page, () => {
    const replies = document.querySelectorAll('article.msg.assistant');
    return replies.length === 2 && replies[1].dataset.status === 'complete';
  });
  const resumed = await page.locator('article.msg .text').allTextContents();
  check(JSON.stringify(resumed) === JSON.stringify(expected),
    `a reply resumed mid-stream ends with exactly the stored text:\n${JSON.stringify(resumed)}\n${JSON.stringify(expected)}`);

  // The conversation list.
  await page.getByRole('link', { name: 'All conversations' }).click();
  await page.getByRole('link', { name: 'Printer trouble' }).waitFor();
  await shot('chat-list');

  // -- a member: no admin controls, admin pages refused by the server ----------------
  const member = await newPage();
  use(member);
  await login(member, users.member);
  await ensureOrg(member);
  await member.goto(`/agents/${agentId}`);
  await member.getByRole('heading', { name: /Helpdesk bot/ }).waitFor();
  check(!(await member.getByRole('link', { name: 'Edit' }).isVisible()), 'a member sees no Edit link');
  check(!(await member.getByRole('button', { name: 'Pause' }).isVisible()), 'a member sees no Pause button');
  await member.getByRole('button', { name: 'Run now' }).waitFor();
  allowErrors(/status of 403/);
  const refused = await member.goto(`/agents/${agentId}/edit`);
  check(refused.status() === 403, `a member gets 403 on the edit page, not ${refused.status()}`);
  await member.getByRole('heading', { name: 'Not allowed' }).waitFor();
  const patched = await api(member, 'PATCH', `/api/v1/agents/${agentId}`, { name: 'Taken over' });
  check(patched.status === 403, `the API refuses a member's edit: ${patched.status}`);
  await shot('member-refused', member);

  // -- 390 px ---------------------------------------------------------------------------
  const phone = await newPage({ width: 390, height: 844 });
  use(phone);
  await login(phone, users.admin);
  await ensureOrg(phone);
  await phone.goto(`/executions/${execId}`);
  await phone.getByTestId('execution-status').waitFor();
  check(await overflow(phone) <= 0, `the execution page fits 390 px (overflow ${await overflow(phone)})`);
  await shot('execution-390', phone);
  await phone.goto(`/chat/${convId}`);
  await phone.locator('article.msg').nth(3).waitFor();
  check(await overflow(phone) <= 0, `the chat page fits 390 px (overflow ${await overflow(phone)})`);
  await shot('chat-390', phone);
});
