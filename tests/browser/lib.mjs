// What the browser tests share (tests/browser/e2e.mjs on the embedded default,
// tests/browser/e2e_aws.mjs on AWS through moto): Chromium launched once per file, a fresh
// context per flow that records console errors and CSP violations, and the page steps every
// flow takes. scripts/browser-test.sh sets BASE_URL, SAMPLE_ZIP, SHOTS_DIR and CHROMIUM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export function required(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run this test with scripts/browser-test.sh`);
  }
  return v;
}

export const BASE_URL = required('BASE_URL').replace(/\/+$/, '');
export const SAMPLE_ZIP = required('SAMPLE_ZIP');
export const SHOTS_DIR = required('SHOTS_DIR');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
assert.ok(existsSync(SAMPLE_ZIP), `SAMPLE_ZIP ${SAMPLE_ZIP} does not exist`);
assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}`);
mkdirSync(SHOTS_DIR, { recursive: true });

// How long an upload of the sample zip may take to become ready.
export const READY_TIMEOUT_MS = 60_000;
export const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

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
export async function freshContext(label, { timezoneId = 'UTC' } = {}) {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    locale: 'en-US',
    timezoneId,
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
    /**
     * Saves full-page screenshots as SHOTS_DIR/<label>-NN-<name>.png (desktop, 1280 px) and
     * <label>-NN-<name>-phone.png (390 px, a phone's width), then restores the desktop size.
     */
    async screenshot(name) {
      shot += 1;
      const base = path.join(SHOTS_DIR, `${label}-${String(shot).padStart(2, '0')}-${name}`);
      const file = `${base}.png`;
      await page.screenshot({ path: file, fullPage: true });
      const desktop = page.viewportSize();
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: `${base}-phone.png`, fullPage: true });
      await page.setViewportSize(desktop);
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
export async function withContext(label, body, options = {}) {
  const ctx = await freshContext(label, options);
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

export function pathOf(page) {
  const u = new URL(page.url());
  return u.pathname + u.search;
}

/** Digits of a text as a number ("1,234 plays" → 1234). */
export function count(text) {
  const digits = String(text).replace(/[^0-9]/g, '');
  assert.notEqual(digits, '', `no number in “${text}”`);
  return Number(digits);
}

export async function signUp(page, email, password) {
  await page.fill('#email', email);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/uploads'),
    page.getByRole('button', { name: 'Create my account' }).click(),
  ]);
}

/** Submits the sign-in form; waits for the answer to the form's POST and the page it shows. */
export async function signIn(page, email, password) {
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
export async function uploadSample(ctx, shotName) {
  return uploadFile(ctx, shotName, 'my_spotify_data.zip');
}

/**
 * As uploadSample, with SAMPLE_ZIP's bytes sent under the file name `name`; no screenshot
 * when `shotName` is null.
 */
export async function uploadFile(ctx, shotName, name) {
  const { page } = ctx;
  const items = page.locator('form[data-upload] .progress-list .item');
  const before = await items.count();
  if (name === 'my_spotify_data.zip') {
    await page.setInputFiles('#files', SAMPLE_ZIP);
  } else {
    await page.setInputFiles('#files', { name, mimeType: 'application/zip', buffer: readFileSync(SAMPLE_ZIP) });
  }
  // With the script, a file starts as soon as it is chosen: there is no button to press too.
  assert.equal(await page.locator('form[data-upload] button[type=submit]').isVisible(), false, 'no Upload button beside live uploads');
  const item = items.nth(before);
  await item.waitFor({ state: 'attached' });
  const bar = item.locator('progress');
  await bar.waitFor({ state: 'visible' });
  assert.equal(await bar.getAttribute('max'), '100', 'the progress bar counts to 100');
  assert.equal((await item.locator('strong').innerText()).trim(), name);
  if (shotName) {
    await ctx.screenshot(shotName);
  }

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
  if (new URL(page.url()).pathname === '/uploads') {
    // The list below shows the new upload, ready, without a reload.
    await page.locator(`table[data-uploads] tr[data-id="${id}"][data-state="ready"]`).waitFor();
  }
  return { id, plays };
}

/**
 * Bytes a first visit to `url` transfers (compressed bodies and headers of the page and
 * everything it loads), in a fresh context with this one's cookies, so nothing comes from a
 * cache.
 */
export async function pageWeight(ctx, url) {
  const fresh = await ctx.context.browser().newContext({
    baseURL: BASE_URL,
    storageState: await ctx.context.storageState(),
  });
  try {
    const page = await fresh.newPage();
    const done = [];
    page.on('requestfinished', (r) => done.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)));
    await page.goto(url, { waitUntil: 'networkidle' });
    const sizes = await Promise.all(done);
    return sizes.reduce((a, b) => a + b, 0);
  } finally {
    await fresh.close();
  }
}

/** The uploads table's row for an upload. */
export function row(page, id) {
  return page.locator(`table[data-uploads] tr[data-id="${id}"]`);
}

