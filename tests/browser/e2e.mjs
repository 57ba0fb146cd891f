// End-to-end browser test (issue #4): Debian's Chromium, driven by playwright-core, against a
// real `backspin serve` on loopback. Run it with scripts/browser-test.sh, which builds and
// starts the server, makes the sample zip and sets:
//
//   BASE_URL    the server, e.g. http://127.0.0.1:41234
//   SAMPLE_ZIP  a zip laid out like Spotify's, made of real sample files (testdata/samples)
//   SHOTS_DIR   where a full-page screenshot of every page visited is saved
//   CHROMIUM    the browser (default /usr/bin/chromium)
//
// Nothing is ever skipped: a missing variable, browser or server fails the run.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run this test with scripts/browser-test.sh`);
  }
  return v;
}

const BASE_URL = required('BASE_URL').replace(/\/+$/, '');
const SAMPLE_ZIP = required('SAMPLE_ZIP');
const SHOTS_DIR = required('SHOTS_DIR');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(existsSync(SAMPLE_ZIP), `SAMPLE_ZIP ${SAMPLE_ZIP} does not exist`);
assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
mkdirSync(SHOTS_DIR, { recursive: true });

// How long an upload of the sample zip may take to become ready.
const READY_TIMEOUT_MS = 60_000;
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
});

/**
 * A fresh browser context (its own cookies) that records every console error, uncaught page
 * error and Content-Security-Policy violation. `expected` holds patterns of console errors a
 * step provokes on purpose (e.g. the 4xx status of a refused sign-in form).
 */
async function freshContext(label) {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    locale: 'en-US',
    timezoneId: 'UTC',
    viewport: { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(30_000);
  const problems = [];
  const expected = [];
  const ignored = [];
  // Violations are reported by the page through this binding; the init script that listens
  // for them is injected by the DevTools protocol, which the page's CSP does not apply to.
  await context.exposeBinding('__backspinCspViolation', ({ page }, v) => {
    problems.push(`CSP violation on ${page.url()}: ${v}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__backspinCspViolation(
        `${e.effectiveDirective || e.violatedDirective} blocked ${e.blockedURI || '(inline)'}` +
          ` at ${e.sourceFile || '?'}:${e.lineNumber || 0}`,
      );
    });
  });
  context.on('console', (msg) => {
    const text = msg.text();
    const where = msg.location()?.url || msg.page()?.url() || '?';
    if (msg.type() === 'error') {
      // The browser asks for /favicon.ico on its own (the pages name no icon); its 404 is not
      // the page's doing, and whether Chromium asks at all varies from run to run.
      if (where === `${BASE_URL}/favicon.ico` && /status of 404/.test(text)) {
        ignored.push(`${where}: ${text}`);
      } else if (expected.some((re) => re.test(text))) {
        ignored.push(`${where}: ${text}`);
      } else {
        problems.push(`console error on ${where}: ${text}`);
      }
    } else if (/Content[- ]Security[- ]Policy|Refused to (load|execute|apply|connect|frame)/i.test(text)) {
      problems.push(`CSP message (${msg.type()}) on ${where}: ${text}`);
    }
  });
  context.on('weberror', (err) => {
    problems.push(`uncaught error on ${err.page()?.url() ?? '?'}: ${err.error().message}`);
  });
  const page = await context.newPage();
  let shot = 0;
  return {
    context,
    page,
    problems,
    expected,
    ignored,
    /** Saves a full-page screenshot as SHOTS_DIR/<label>-NN-<name>.png. */
    async screenshot(name) {
      shot += 1;
      const file = path.join(SHOTS_DIR, `${label}-${String(shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    /** Fails when anything went to the console as an error or broke the CSP. */
    assertClean(step) {
      assert.deepEqual(problems, [], `console errors or CSP violations (${step})`);
    },
    async close() {
      await context.close();
    },
  };
}

/** Runs `body` with a fresh context; on failure keeps a screenshot and says where it was. */
async function withContext(label, body) {
  const ctx = await freshContext(label);
  try {
    await body(ctx);
    ctx.assertClean('end of flow');
    if (ctx.ignored.length) {
      console.log(`${label}: console errors expected or not the page's doing:\n  ${ctx.ignored.join('\n  ')}`);
    }
  } catch (e) {
    try {
      await ctx.page.screenshot({ path: path.join(SHOTS_DIR, `${label}-FAILED.png`), fullPage: true });
    } catch {
      /* the page may be gone */
    }
    const extra = ctx.problems.length ? `\nconsole/CSP problems so far:\n  ${ctx.problems.join('\n  ')}` : '';
    e.message = `${e.message}\n(at ${ctx.page.url()})${extra}`;
    throw e;
  } finally {
    await ctx.close();
  }
}

function pathOf(page) {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

/** Digits of a text as a number ("1,234 plays" → 1234). */
function count(text) {
  const digits = String(text).replace(/[^0-9]/g, '');
  assert.notEqual(digits, '', `no number in “${text}”`);
  return Number(digits);
}

async function signUp(page, email, password) {
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/uploads'),
    page.getByRole('button', { name: 'Create my account' }).click(),
  ]);
}

/** Submits the sign-in form; waits for the answer to the form's POST and the page it shows. */
async function signIn(page, email, password) {
  await page.goto('/signin');
  await page.fill('#email', email);
  await page.fill('#password', password);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/signin'),
    page.locator('main form.card button[type=submit]').click(),
  ]);
  if (answer.status() >= 300 && answer.status() < 400) {
    await page.waitForURL((u) => u.pathname !== '/signin');
  }
  await page.waitForLoadState('load');
  return answer.status();
}

/**
 * Chooses SAMPLE_ZIP in the page's upload form (the script uploads it at once), checks that a
 * progress bar appears, screenshots it, and waits for the upload to be ready. Returns its id
 * and play count.
 */
async function uploadSample(ctx, shotName) {
  const { page } = ctx;
  const items = page.locator('form[data-upload] .progress-list .item');
  const before = await items.count();
  await page.setInputFiles('#files', SAMPLE_ZIP);
  const item = items.nth(before);
  await item.waitFor({ state: 'attached' });
  const bar = item.locator('progress');
  await bar.waitFor({ state: 'visible' });
  assert.equal(await bar.getAttribute('max'), '100', 'the progress bar counts to 100');
  assert.match(await item.locator('strong').innerText(), /my_spotify_data\.zip/);
  await ctx.screenshot(shotName);

  // queued/processing until the worker is done: ready, failed, or refused by the server.
  const settled = item.locator('xpath=self::*[@data-state="ready" or @data-state="failed" or @data-state="refused"]');
  await settled.waitFor({ state: 'attached', timeout: READY_TIMEOUT_MS });
  const state = await item.getAttribute('data-state');
  const text = (await item.innerText()).trim();
  assert.equal(state, 'ready', `the upload did not become ready: ${text}`);
  assert.equal(await bar.evaluate((b) => b.value), 100, 'the progress bar is full');
  const m = text.match(/Ready: ([\d,]+) plays, (\d{4}-\d\d-\d\d) – (\d{4}-\d\d-\d\d)/);
  assert.ok(m, `the ready item shows its plays and span: “${text}”`);
  const plays = count(m[1]);
  assert.ok(plays > 0, `the sample has plays: ${text}`);
  const id = await item.getAttribute('data-upload-id');
  assert.match(id ?? '', /\S/, 'the item knows its upload id');
  const link = item.getByRole('link', { name: 'Open its dashboard' });
  assert.equal(await link.getAttribute('href'), `/dashboard?u=${encodeURIComponent(id)}`);
  return { id, plays };
}

/** The uploads table's row for an upload. */
function row(page, id) {
  return page.locator(`table[data-uploads] tr[data-id="${id}"]`);
}

test('account flow: sign up, upload with progress, dashboard, password change, sign out/in, delete', async () => {
  await withContext('account', async (ctx) => {
    const { page } = ctx;
    const email = `e2e-${RUN}@example.com`;
    const oldPassword = `Old-Pass-${RUN}-x9`;
    const newPassword = `New-Pass-${RUN}-y7`;

    // Landing page, signed out.
    await page.goto('/');
    assert.equal(await page.locator('h1').innerText(), 'See your whole Spotify listening history');
    await page.locator('form[data-upload] input#files[type=file][multiple]').waitFor({ state: 'attached' });
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    await ctx.screenshot('landing');

    // Sign up.
    await page.getByRole('link', { name: 'Sign up', exact: true }).first().click();
    await page.waitForURL((u) => u.pathname === '/signup');
    await page.fill('#email', email);
    await page.fill('#password', oldPassword);
    await ctx.screenshot('signup');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/uploads'),
      page.getByRole('button', { name: 'Create my account' }).click(),
    ]);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.equal(await page.locator('h1').innerText(), 'Your uploads');
    await page.getByText('Nothing uploaded yet.').waitFor();
    ctx.assertClean('sign-up');

    // Upload the sample zip from the uploads page.
    const { id, plays } = await uploadSample(ctx, 'uploads-progress');
    await ctx.screenshot('upload-ready');
    ctx.assertClean('upload');

    // The list, reloaded, has the upload as ready with the same play count.
    await page.goto('/uploads');
    const r = row(page, id);
    await r.waitFor();
    assert.equal(await r.getAttribute('data-state'), 'ready');
    assert.equal(await r.locator('.state').innerText(), 'Ready');
    assert.equal(count(await r.locator('td.plays').innerText()), plays, 'the list shows the same plays');
    assert.match(await r.locator('td.span').innerText(), /^\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d$/);
    assert.equal(await r.getByRole('link', { name: /my_spotify_data\.zip/ }).getAttribute('href'), `/uploads/${id}`);
    await ctx.screenshot('uploads-list');

    // Open the dashboard for exactly this upload through its checkbox.
    const box = r.locator('input[type=checkbox][name=u]');
    assert.equal(await box.isEnabled(), true, 'a ready upload can be selected');
    await box.check();
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/dashboard'),
      page.getByRole('button', { name: 'Open the dashboard for the selected uploads' }).click(),
    ]);
    assert.deepEqual(new URL(page.url()).searchParams.getAll('u'), [id]);
    assert.equal(await page.locator('h1').innerText(), 'Your listening');
    assert.match(await page.locator('main p.hint').first().innerText(), /From my_spotify_data\.zip\./);
    const dashPlays = count(await page.locator('[data-stat=plays]').innerText());
    assert.ok(dashPlays > 0, 'the dashboard counts plays');
    assert.equal(dashPlays, plays, 'the dashboard counts the plays the upload reported');
    assert.ok(count(await page.locator('[data-stat=artists]').innerText()) > 0, 'the dashboard counts artists');
    const hours = (await page.locator('[data-stat=hours]').innerText()).trim();
    assert.match(hours, /^[\d.,]+ h$/);
    assert.ok(parseFloat(hours.replace(/,/g, '')) > 0, `listening time is not zero: ${hours}`);
    const topArtists = page.locator('section', { has: page.getByRole('heading', { name: 'Top artists' }) });
    const first = topArtists.locator('ol.ranking li').first();
    await first.waitFor();
    assert.notEqual((await first.locator('.name').innerText()).trim(), '', 'the top artist has a name');
    assert.match(await first.locator('.value').innerText(), /[1-9][\d,]* plays/);
    assert.ok((await page.locator('ol.bars li').count()) > 0, 'listening per month has bars');
    await ctx.screenshot('dashboard');
    ctx.assertClean('dashboard');

    // Change the password.
    await page.getByRole('link', { name: 'Account' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    await page.locator('#tz').waitFor();
    await page.locator('#min_play_seconds').waitFor();
    await ctx.screenshot('account');
    await page.fill('#current_password', oldPassword);
    await page.fill('#new_password', newPassword);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/account' && u.searchParams.get('done') === 'password'),
      page.getByRole('button', { name: 'Change password' }).click(),
    ]);
    await page.locator('p.info', { hasText: 'Password changed' }).waitFor();
    await ctx.screenshot('account-password-changed');

    // Sign out.
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/'),
      page.getByRole('button', { name: 'Sign out' }).click(),
    ]);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'signed out');
    ctx.assertClean('password change and sign-out');

    // The old password no longer works. The refused form comes back with an error status,
    // which Chromium reports on the console: that one is expected.
    ctx.expected.push(/Failed to load resource: the server responded with a status of 4\d\d/);
    const refused = await signIn(page, email, oldPassword);
    assert.ok(refused >= 400 && refused < 500, `a wrong password is refused with a 4xx, got ${refused}`);
    assert.equal(pathOf(page), '/signin');
    await page.locator('p.error[role=alert]', { hasText: 'Wrong e-mail or password' }).waitFor();
    assert.equal(await page.locator('#email').inputValue(), email, 'the form keeps the e-mail');
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'still signed out');
    await ctx.screenshot('signin-error');
    ctx.expected.pop();

    // The new one does.
    assert.equal(await signIn(page, email, newPassword), 303);
    assert.equal(pathOf(page), '/uploads');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await row(page, id).waitFor();

    // Delete the upload through its confirmation page.
    await row(page, id).getByRole('link', { name: 'Delete' }).click();
    await page.waitForURL((u) => u.pathname === `/uploads/${id}/delete`);
    assert.match(await page.locator('h1').innerText(), /^Delete “my_spotify_data\.zip”\?$/);
    await ctx.screenshot('delete-confirm');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/uploads' && u.searchParams.get('done') === 'deleted'),
      page.locator('button.danger', { hasText: 'Delete' }).click(),
    ]);
    await page.locator('p.info', { hasText: 'The upload was deleted.' }).waitFor();
    await page.getByText('Nothing uploaded yet.').waitFor();
    assert.equal(await row(page, id).count(), 0, 'the row is gone');
    await ctx.screenshot('uploads-empty');

    // Its dashboard is empty now.
    await page.goto('/dashboard');
    assert.equal(count(await page.locator('[data-stat=plays]').innerText()), 0);
  });
});

test('anonymous flow: upload without an account, then sign up and keep the upload', async () => {
  await withContext('anonymous', async (ctx) => {
    const { page } = ctx;
    const notice = page.locator('p.info', { hasText: 'These uploads live in this browser only' });

    await page.goto('/');
    await ctx.screenshot('landing');
    const { id, plays } = await uploadSample(ctx, 'landing-progress');
    await ctx.screenshot('landing-ready');
    ctx.assertClean('anonymous upload');

    // That upload started the visitor's session; the page's other forms still work (they
    // carry the new session's CSRF token): "Try it with sample data" adds the sample.
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sample'),
      page.getByRole('button', { name: 'Try it with sample data' }).click(),
    ]);
    if (answer.status() !== 303) {
      await page.waitForLoadState('load');
      await ctx.screenshot('sample-refused');
      assert.fail(`POST /sample after the first upload answered ${answer.status()}: ${await page.locator('main').innerText()}`);
    }
    await page.waitForURL((u) => u.pathname === '/uploads');
    const sampleId = new URL(page.url()).hash.replace(/^#upload-/, '');
    assert.match(sampleId, /\S/, `the sample's row is named in ${page.url()}`);
    assert.notEqual(sampleId, id);
    await row(page, sampleId).getByRole('link', { name: 'sample_my_spotify_data.zip' }).waitFor();

    await page.goto('/uploads');
    await notice.waitFor();
    await page.getByRole('link', { name: 'Sign up to keep them.' }).waitFor();
    const r = row(page, id);
    await r.waitFor();
    assert.equal(await r.getAttribute('data-state'), 'ready');
    assert.equal(count(await r.locator('td.plays').innerText()), plays);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0, 'not signed in');
    await ctx.screenshot('anonymous-uploads');

    // The anonymous visitor sees their dashboard too.
    await page.goto(`/dashboard?u=${encodeURIComponent(id)}`);
    assert.equal(count(await page.locator('[data-stat=plays]').innerText()), plays);
    await ctx.screenshot('anonymous-dashboard');

    // Sign up from this browser: the upload is claimed.
    await page.goto('/uploads');
    await page.getByRole('link', { name: 'Sign up to keep them.' }).click();
    await page.waitForURL((u) => u.pathname === '/signup');
    await page.locator('p.info', { hasText: 'Your uploads from this browser will be kept in your new account.' }).waitFor();
    await ctx.screenshot('signup-claim');
    await signUp(page, `anon-${RUN}@example.com`, `Claim-Pass-${RUN}-z5`);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const claimed = row(page, id);
    await claimed.waitFor();
    assert.equal(await claimed.getAttribute('data-state'), 'ready');
    assert.equal(count(await claimed.locator('td.plays').innerText()), plays);
    assert.equal(await notice.count(), 0, 'no anonymous notice once signed up');
    await row(page, sampleId).waitFor();
    assert.equal(await page.locator('table[data-uploads] tbody tr').count(), 2, 'exactly the two uploads');
    await ctx.screenshot('claimed-uploads');

    // The upload page no longer says it expires.
    await claimed.getByRole('link', { name: /my_spotify_data\.zip/ }).click();
    await page.waitForURL((u) => u.pathname === `/uploads/${id}`);
    assert.equal(await page.getByText('Deleted automatically').count(), 0, 'a claimed upload does not expire');
    await ctx.screenshot('claimed-upload-detail');
  });
});

test('the CSP-violation detector sees a violation (so that "no violations" means something)', async () => {
  const ctx = await freshContext('selfcheck');
  try {
    await ctx.page.goto('/');
    ctx.assertClean('landing');
    await ctx.page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1;';
      document.body.appendChild(s);
    });
    const deadline = Date.now() + 5_000;
    while (!ctx.problems.some((p) => p.startsWith('CSP violation')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(
      ctx.problems.some((p) => p.startsWith('CSP violation') && /script-src/.test(p)),
      `an inline script was not reported as a CSP violation: ${JSON.stringify(ctx.problems)}`,
    );
    assert.equal(await ctx.page.evaluate(() => window.__inline), undefined, 'the inline script did not run');
  } finally {
    await ctx.close();
  }
});
