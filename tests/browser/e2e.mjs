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
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RUN,
  freshContext,
  withContext,
  pathOf,
  count,
  signUp,
  signIn,
  uploadSample,
  uploadFile,
  row,
  pageWeight,
} from './lib.mjs';

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
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
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
    assert.equal(await r.getByRole('link', { name: 'my_spotify_data.zip', exact: true }).getAttribute('href'), `/uploads/${id}`);
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
    const topArtists = page.locator('figure#top-artists');
    assert.equal(await topArtists.locator('svg > title').textContent(), 'Top artists');
    const first = topArtists.locator('svg .mark').first();
    await first.waitFor();
    // The first bar's tooltip: rank, name, time and plays.
    assert.match(await first.locator('title').textContent(), /^1\. \S.*: .+ · [1-9][\d,]* plays$/);
    assert.ok((await page.locator('figure#per-month svg .mark').count()) > 0, 'listening per month has bars');
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
      page.getByRole('button', { name: 'Sign out', exact: true }).click(),
    ]);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out', exact: true }).count(), 0, 'signed out');
    ctx.assertClean('password change and sign-out');

    // The old password no longer works. The refused form comes back with an error status,
    // which Chromium reports on the console: that one is expected.
    ctx.expected.push(/Failed to load resource: the server responded with a status of 4\d\d/);
    const refused = await signIn(page, email, oldPassword);
    assert.ok(refused >= 400 && refused < 500, `a wrong password is refused with a 4xx, got ${refused}`);
    assert.equal(pathOf(page), '/signin');
    await page.locator('p.error[role=alert]', { hasText: 'Wrong e-mail or password' }).waitFor();
    assert.equal(await page.locator('#email').inputValue(), email, 'the form keeps the e-mail');
    assert.equal(await page.getByRole('button', { name: 'Sign out', exact: true }).count(), 0, 'still signed out');
    await ctx.screenshot('signin-error');
    ctx.expected.pop();

    // The new one does.
    assert.equal(await signIn(page, email, newPassword), 303);
    assert.equal(pathOf(page), '/uploads');
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
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
    await row(page, sampleId).getByRole('link', { name: 'sample_my_spotify_data.zip', exact: true }).waitFor();

    await page.goto('/uploads');
    await notice.waitFor();
    await page.getByRole('link', { name: 'Sign up to keep them.' }).waitFor();
    const r = row(page, id);
    await r.waitFor();
    assert.equal(await r.getAttribute('data-state'), 'ready');
    assert.equal(count(await r.locator('td.plays').innerText()), plays);
    assert.equal(await page.getByRole('button', { name: 'Sign out', exact: true }).count(), 0, 'not signed in');
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
    await page.getByRole('button', { name: 'Sign out', exact: true }).waitFor();
    const claimed = row(page, id);
    await claimed.waitFor();
    assert.equal(await claimed.getAttribute('data-state'), 'ready');
    assert.equal(count(await claimed.locator('td.plays').innerText()), plays);
    assert.equal(await notice.count(), 0, 'no anonymous notice once signed up');
    await row(page, sampleId).waitFor();
    assert.equal(await page.locator('table[data-uploads] tbody tr').count(), 2, 'exactly the two uploads');
    await ctx.screenshot('claimed-uploads');

    // The upload page no longer says it expires.
    await claimed.getByRole('link', { name: 'my_spotify_data.zip', exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/uploads/${id}`);
    assert.equal(await page.getByText('Deleted automatically').count(), 0, 'a claimed upload does not expire');
    await ctx.screenshot('claimed-upload-detail');
  });
});

/** The overview cards of a dashboard page: `{ hours, plays, artists, days }` as shown. */
async function cards(page) {
  const text = async (stat) => (await page.locator(`[data-stat=${stat}]`).innerText()).trim();
  return { hours: await text('hours'), plays: count(await text('plays')), artists: count(await text('artists')), days: count(await text('days')) };
}

/** The `u` parameters of the page's address, sorted. */
function selectedIds(page) {
  return new URL(page.url()).searchParams.getAll('u').sort();
}

/** Clicks a link and waits for the page it opens (a same-document load). */
async function follow(page, link, until) {
  await Promise.all([page.waitForURL(until), link.click()]);
  await page.waitForLoadState('load');
}

/** The text of the focused element. */
async function focusedText(page) {
  return page.evaluate(() => (document.activeElement?.textContent ?? '').trim());
}

test('dashboard flow: two uploads merged, range presets, ranking by keyboard, artist drill-down, year recap and its share link', async () => {
  await withContext('dashboard', async (ctx) => {
    const { page } = ctx;
    await page.goto('/signup');
    await signUp(page, `dash-${RUN}@example.com`, `Dash-Pass-${RUN}-q3`);

    // The sample twice, under two names: two uploads holding the same streams.
    const a = await uploadFile(ctx, null, 'my_spotify_data.zip');
    const b = await uploadFile(ctx, null, 'copy_of_my_spotify_data.zip');
    assert.notEqual(a.id, b.id);
    assert.equal(a.plays, b.plays);
    ctx.assertClean('uploads');

    // Both selected on the uploads page: one dashboard, each stream once.
    await page.goto('/uploads');
    for (const id of [a.id, b.id]) {
      await row(page, id).locator('input[type=checkbox][name=u]').check();
    }
    await follow(
      page,
      page.getByRole('button', { name: 'Open the dashboard for the selected uploads' }),
      (u) => u.pathname === '/dashboard',
    );
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort());
    assert.equal(await page.locator('h1').innerText(), 'Your listening');
    const hint = await page.locator('nav.controls p.hint').innerText();
    assert.match(hint, /my_spotify_data\.zip/);
    assert.match(hint, /copy_of_my_spotify_data\.zip/);
    const all = await cards(page);
    assert.equal(all.plays, a.plays, 'the same streams in both uploads count once');
    assert.ok(all.artists > 25, `enough artists for two ranking pages: ${all.artists}`);
    const allTime = page.locator('nav.controls ul.presets').first().getByRole('link', { name: 'All time' });
    assert.equal(await allTime.getAttribute('aria-current'), 'true');
    await ctx.screenshot('merged');
    ctx.assertClean('merged dashboard');

    // Presets, by their links; each keeps the selection and is anchored on the last day of
    // listening (the hint says which days are shown).
    const presets = page.locator('nav.controls ul.presets').first();
    await follow(page, presets.getByRole('link', { name: 'Last 4 weeks' }), (u) => u.searchParams.get('range') === '4w');
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the preset keeps the selection');
    assert.equal(await presets.getByRole('link', { name: 'Last 4 weeks' }).getAttribute('aria-current'), 'true');
    const shown = (await page.locator('nav.controls p.hint').innerText()).match(/Showing (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)\./);
    assert.ok(shown, 'the hint names the days shown');
    assert.equal((Date.parse(shown[2]) - Date.parse(shown[1])) / 86_400_000, 27, '4 weeks are 28 days');
    const fourWeeks = await cards(page);
    assert.ok(fourWeeks.plays <= all.plays && fourWeeks.days <= 28, `4 weeks within all time: ${JSON.stringify(fourWeeks)}`);
    assert.equal(await page.locator('#to').inputValue(), shown[2], 'the range form shows the last day');
    await ctx.screenshot('last-4-weeks');

    await follow(page, presets.getByRole('link', { name: 'Latest year' }), (u) => u.searchParams.get('range') === 'year');
    const latest = await cards(page);
    const latestYear = shown[2].slice(0, 4);
    assert.match(await page.locator('nav.controls p.hint').innerText(), new RegExp(`Showing ${latestYear}-01-01 to ${latestYear}-12-31\\.`));
    assert.ok(latest.plays >= fourWeeks.plays && latest.plays <= all.plays);

    // Every year's plays add up to all time's.
    const years = (await presets.getByRole('link').allInnerTexts()).filter((t) => /^\d{4}$/.test(t.trim()));
    assert.ok(years.length >= 2, `year presets: ${years}`);
    let sum = 0;
    const perYear = {};
    for (const y of years) {
      await follow(page, presets.getByRole('link', { name: y, exact: true }), (u) => u.searchParams.get('range') === y);
      perYear[y] = (await cards(page)).plays;
      sum += perYear[y];
    }
    assert.equal(perYear[latestYear], latest.plays, 'the latest year is its year');
    assert.equal(sum, all.plays, `the years' plays add up: ${JSON.stringify(perYear)}`);
    await ctx.screenshot('a-year');

    await follow(page, presets.getByRole('link', { name: 'All time' }), (u) => u.searchParams.get('range') === 'all');
    assert.deepEqual(await cards(page), all, 'back to all time: the same cards');
    await ctx.screenshot('all-time');
    ctx.assertClean('presets');

    // The ranking, by keyboard: ↓ into the list and through it, past the end to the next page,
    // ↑ back past its start to the previous one; Enter opens an artist.
    await follow(page, page.getByRole('link', { name: 'All artists, ranked →' }), (u) => u.pathname === '/dashboard/ranking');
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the ranking keeps the selection');
    const links = page.locator('ol[data-ranking] a.rank-link');
    const names = await links.allInnerTexts();
    assert.equal(names.length, 25, 'a full first page');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focusedText(page), names[0].trim(), '↓ enters the list at the top');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focusedText(page), names[1].trim());
    await page.keyboard.press('ArrowUp');
    assert.equal(await focusedText(page), names[0].trim());
    await ctx.screenshot('ranking');
    for (let i = 1; i < names.length; i += 1) {
      await page.keyboard.press('ArrowDown');
    }
    assert.equal(await focusedText(page), names[24].trim(), 'the last entry of the page');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('page') === '2' && u.searchParams.get('focus') === 'first'),
      page.keyboard.press('ArrowDown'),
    ]);
    await page.waitForLoadState('load');
    assert.equal(await page.locator('ol[data-ranking]').getAttribute('start'), '26', 'page 2 starts at 26');
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the next page keeps the selection');
    const second = await links.allInnerTexts();
    await page.waitForFunction(() => document.activeElement?.classList.contains('rank-link'));
    assert.equal(await focusedText(page), second[0].trim(), 'the next page opens on its first entry');
    await ctx.screenshot('ranking-page-2');
    await Promise.all([
      page.waitForURL((u) => u.searchParams.get('page') === '1' && u.searchParams.get('focus') === 'last'),
      page.keyboard.press('ArrowUp'),
    ]);
    await page.waitForLoadState('load');
    await page.waitForFunction(() => document.activeElement?.classList.contains('rank-link'));
    assert.equal(await focusedText(page), names[24].trim(), 'back on the last entry of page 1');
    await page.keyboard.press('ArrowUp');
    const artist = names[23].trim();
    assert.equal(await focusedText(page), artist);
    ctx.assertClean('ranking');

    // Enter: the artist's drill-down, with its two weekday × time-of-day heat maps.
    await Promise.all([page.waitForURL((u) => u.pathname === '/dashboard/artist'), page.keyboard.press('Enter')]);
    await page.waitForLoadState('load');
    assert.equal(new URL(page.url()).searchParams.get('name'), artist);
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the artist page keeps the selection');
    assert.equal(await page.locator('h1').innerText(), artist);
    const heatmaps = page.locator('figure.chart-heatmap');
    assert.equal(await heatmaps.count(), 2, 'this range and all time');
    for (const title of await heatmaps.locator('svg > title').allTextContents()) {
      assert.match(title, /weekday/, `a heat map by weekday: ${title}`);
    }
    assert.ok((await heatmaps.first().locator('.mark').count()) > 0, 'the heat map has cells');
    assert.match(await page.locator('[data-stat=artist-plays]').innerText(), /^\d[\d,]*$/);
    await ctx.screenshot('artist');
    // A preset on the artist page stays on the artist.
    await follow(page, page.locator('nav.controls ul.presets').first().getByRole('link', { name: 'All time' }), (u) => u.searchParams.get('range') === 'all');
    assert.equal(await page.locator('h1').innerText(), artist);
    ctx.assertClean('artist');

    // Hide the artist from every view, from its page; the dashboard counts it no more; show
    // it again from the settings.
    const artistPage = page.url();
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    const before = await cards(page);
    await page.goto(artistPage);
    await follow(page, page.getByRole('link', { name: 'Hide this artist from every view…' }), (u) => u.pathname === '/settings');
    assert.equal(await page.locator('#hide_name').inputValue(), artist, 'the form comes filled in');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('done') === 'hidden'), page.getByRole('button', { name: 'Hide it' }).click()]);
    assert.ok((await page.locator('#hidden ul').innerText()).includes(artist), 'the artist is listed as hidden');
    await ctx.screenshot('hidden');
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    const hidden = await cards(page);
    assert.equal(hidden.artists, before.artists - 1, 'one artist fewer');
    assert.ok(hidden.plays < before.plays, 'their plays are left out');
    await page.goto('/settings');
    await Promise.all([page.waitForURL((u) => u.searchParams.get('done') === 'shown'), page.getByRole('button', { name: `Show ${artist} again` }).click()]);
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    assert.deepEqual(await cards(page), before, 'all back');
    ctx.assertClean('hiding');

    // A year recap, from the dashboard's "Year recaps" links.
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    const recaps = page.locator('section#recaps');
    const firstYear = years[years.length - 1];
    await follow(page, recaps.getByRole('link', { name: firstYear, exact: true }), (u) => u.pathname === `/dashboard/recap/${firstYear}`);
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the recap keeps the selection');
    assert.equal(await page.locator('h1').innerText(), `Your ${firstYear} in music`);
    assert.equal(count(await page.locator('[data-stat=recap-plays]').innerText()), perYear[firstYear], 'the recap counts the year');
    const artistOfYear = page.locator('[data-finding=artist-of-the-year] a');
    assert.match(await artistOfYear.innerText(), /\S/, 'the recap names the artist of the year');
    assert.match(await page.locator('li.finding', { has: artistOfYear }).innerText(), /\d+ % of your music time\./);
    for (const id of ['recap-artists', 'recap-tracks', 'recap-albums']) {
      assert.match(await page.locator(`figure#${id} figcaption`).innerText(), /^Top (artists|tracks|albums)$/, `${id} has a visible title`);
    }
    await ctx.screenshot('recap');
    ctx.assertClean('recap');
    const recapUrl = page.url();

    // Share the recap: make a link, open it in a browser that never signed in (exactly the
    // recap, under the chosen name, nowhere to go from it), revoke it, and see it gone.
    await follow(page, page.getByRole('link', { name: 'Share this view →' }), (u) => u.pathname === '/shares/new');
    await ctx.screenshot('share-form');
    await page.fill('#display_name', 'Dash D.');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/shares'),
      page.getByRole('button', { name: 'Create the link' }).click(),
    ]);
    const shareUrl = await page.locator('#share_url').inputValue();
    assert.match(shareUrl, /\/s\/[A-Za-z0-9_-]{43}$/, 'the whole link is shown');
    const preview = page.locator('figure.share-card img');
    await preview.evaluate((img) => img.decode());
    assert.deepEqual(
      await preview.evaluate((img) => [img.naturalWidth, img.naturalHeight]),
      [1200, 630],
      'the card is an Open Graph image',
    );
    await ctx.screenshot('share-created');
    ctx.assertClean('share link made');
    const stranger = await freshContext('shared');
    try {
      const sp = stranger.page;
      const answer = await sp.goto(shareUrl);
      assert.equal(answer.status(), 200);
      assert.equal(answer.headers()['x-robots-tag'], 'noindex, nofollow');
      assert.equal(await sp.locator('h1').innerText(), `Dash D.’s ${firstYear} in music`);
      assert.equal(count(await sp.locator('[data-stat=recap-plays]').innerText()), perYear[firstYear], 'the shared recap counts the year');
      const hrefs = await sp.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      const card = new URL(shareUrl).pathname + '/card.png';
      assert.deepEqual([...new Set(hrefs)].sort(), ['/', card].sort(), 'the shared page leads nowhere but home and its card');
      assert.equal(await sp.locator('form').count(), 0, 'no form on a shared page');
      assert.equal(await sp.locator('meta[property="og:image"]').getAttribute('content'), new URL(card, shareUrl).href);
      await stranger.screenshot('shared-recap');
      stranger.assertClean('shared recap');
    } finally {
      await stranger.close();
    }
    await page.goto('/account');
    const link = page.locator('#shares li', { hasText: 'Dash D.' });
    assert.match(await link.innerText(), new RegExp(`${firstYear} recap`));
    await ctx.screenshot('account-shares');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/account' && u.searchParams.get('done') === 'revoked'),
      link.getByRole('button', { name: 'Revoke' }).click(),
    ]);
    assert.equal(await page.locator('#shares li', { hasText: 'Dash D.' }).count(), 0, 'the link left the list');
    const late = await freshContext('shared-revoked');
    try {
      late.expected.push(/status of 404/);
      const answer = await late.page.goto(shareUrl);
      assert.equal(answer.status(), 404, 'a revoked link opens nothing');
      await late.screenshot('shared-revoked');
    } finally {
      await late.close();
    }
    await page.goto(recapUrl);

    // Every name is a link: the recap's artist of the year opens the artist's page, the
    // dashboard's top track its track page, and that page its album's.
    await follow(page, artistOfYear, (u) => u.pathname === '/dashboard/artist');
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    const topTrack = page.locator('figure#top-tracks svg a').first();
    await follow(page, topTrack, (u) => u.pathname === '/dashboard/track');
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the track page keeps the selection');
    assert.ok(count(await page.locator('[data-stat=item-plays]').innerText()) > 0, 'the top track has plays');
    assert.match(await page.locator('figure#item-months figcaption').innerText(), /Hours per month/);
    await ctx.screenshot('track');
    await follow(page, page.locator('figure#item-parts svg a').first(), (u) => u.pathname === '/dashboard/album');
    assert.ok(count(await page.locator('[data-stat=item-plays]').innerText()) > 0, 'the album has plays');
    await ctx.screenshot('album');
    ctx.assertClean('track and album pages');

    // A period against the one before it, from the dashboard's link.
    const lastYear = years.reduce((x, y) => (perYear[x] >= perYear[y] ? x : y));
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}&range=${lastYear}`);
    await follow(page, page.getByRole('link', { name: 'Compare this period with the one before →' }), (u) => u.pathname === '/dashboard/compare');
    assert.equal(await page.locator('h1').innerText(), `${lastYear} against ${Number(lastYear) - 1}`);
    assert.match(await page.locator('[data-finding=comparison]').innerText(), /\bin \d{4}\b/);
    assert.equal(await page.locator('table.compare tbody tr').count(), 5, 'five numbers side by side');
    await ctx.screenshot('compare');
    ctx.assertClean('compare');

    // Search, from the dashboard's form: the first artist, by a part of its name.
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    const firstArtist = (await page.locator('figure#top-artists svg a text').first().textContent()).replace(/^1\. /, '');
    await page.fill('#search-q', firstArtist.slice(0, 4).toUpperCase());
    await Promise.all([page.waitForURL((u) => u.pathname === '/dashboard/search'), page.getByRole('button', { name: 'Search', exact: true }).click()]);
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the search keeps the selection');
    const hit = page.locator('section.results a', { hasText: firstArtist }).first();
    await hit.waitFor();
    await ctx.screenshot('search');
    await follow(page, hit, (u) => u.pathname === '/dashboard/artist');
    assert.equal(await page.locator('h1').innerText(), firstArtist);

    // The skips in depth, from the dashboard's link.
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    await follow(page, page.getByRole('link', { name: /Your skips in depth/ }), (u) => u.pathname === '/dashboard/skips');
    assert.match(await page.locator('p.lead').innerText(), /^[\d,]+ of [\d,]+ music streams? skipped/);
    assert.match(await page.locator('figure#skip-position figcaption').innerText(), /Skips by how far into the track/);
    await ctx.screenshot('skips');

    // Two devices at once, from the dashboard's link: the time counted once is at most the sum.
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    await follow(page, page.getByRole('link', { name: /Listening on two devices at once/ }), (u) => u.pathname === '/dashboard/overlaps');
    const hoursOf = async (stat) => {
      const text = (await page.locator(`[data-stat=${stat}]`).innerText()).replace(/,/g, '');
      const n = parseFloat(text.replace(/^</, ''));
      return /min$/.test(text) ? n / 60 : n;
    };
    assert.ok((await hoursOf('overlap-once')) <= (await hoursOf('overlap-sum')), 'counted once is at most added up');
    await ctx.screenshot('overlaps');
    ctx.assertClean('search, skips and overlaps');

    // The stories: chapters (eras, album sittings) and moments (this day, trips, milestones).
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    await follow(page, page.getByRole('link', { name: /^Your chapters/ }), (u) => u.pathname === '/dashboard/chapters');
    assert.deepEqual(selectedIds(page), [a.id, b.id].sort(), 'the chapters keep the selection');
    assert.equal(await page.locator('figure#era-hours figcaption').innerText(), 'Hours per chapter');
    assert.ok((await page.locator('ol.eras li').count()) >= 1, 'at least one era');
    await ctx.screenshot('chapters');
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    await follow(page, page.getByRole('link', { name: /^Your moments/ }), (u) => u.pathname === '/dashboard/moments');
    assert.match(await page.locator('section#milestones').innerText(), /Play 1\b/, 'the first play is a milestone');
    const firstDay = await page.locator('section#milestones li').first().innerText();
    const [, md] = firstDay.match(/\d{4}-(\d{2}-\d{2})/);
    await page.fill('#on', `2020-${md}`);
    await Promise.all([page.waitForURL((u) => u.pathname === '/dashboard/moments' && u.searchParams.get('on') === `2020-${md}`), page.getByRole('button', { name: 'Show' }).last().click()]);
    assert.ok((await page.locator('section#on-this-day li.finding').count()) >= 1, "the first play's date has listening");
    await ctx.screenshot('moments');
    ctx.assertClean('chapters and moments');

    // The import ledger: the second upload holds only streams the first has.
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    await follow(page, page.getByRole('link', { name: /the import ledger/ }), (u) => u.pathname === '/dashboard/ledger');
    const later = page.locator(`#ledger-${b.id}`);
    assert.match(await later.locator('[data-ledger=added]').innerText(), /^Against the uploads before it: 0 new streams, [\d,]+ streams already known, 0 new days/);
    const kept = async (id) => count(await page.locator(`#ledger-${id} [data-ledger=kept]`).innerText());
    assert.equal(await kept(b.id), await kept(a.id), 'the same streams in both');
    await ctx.screenshot('ledger');
    ctx.assertClean('ledger');

    // The dark theme follows the system setting.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(19, 19, 22)', 'a dark page in a dark system');
    await ctx.screenshot('dashboard-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // The heaviest page, first visit, everything it loads, compressed: within 200 KB.
    const weight = await pageWeight(ctx, `/dashboard?u=${encodeURIComponent(a.id)}&u=${encodeURIComponent(b.id)}`);
    console.log(`dashboard page weight, first visit: ${weight} bytes`);
    assert.ok(weight > 10_000 && weight <= 200 * 1024, `the dashboard weighs ${weight} bytes`);
  });
});

test("the browser's time zone: a visitor's dashboard counts days and hours in it, and they can change it", async () => {
  await withContext('timezone', async (ctx) => {
    const { page } = ctx;
    await page.goto('/');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/uploads'),
      page.getByRole('button', { name: 'Try it with sample data' }).click(),
    ]);
    const sample = page.locator('table[data-uploads] tr[data-id]').first();
    await page.locator('table[data-uploads] tr[data-state="ready"]').first().waitFor({ timeout: 120_000 });
    assert.match(await sample.innerText(), /Sample/, 'the sample is labelled');
    await page.goto('/dashboard');
    // The script sets the visitor's zone from the browser's and reloads the page.
    await page.locator('nav.controls p.hint', { hasText: 'Times in Europe/Berlin' }).waitFor();
    await page.locator('p.sample', { hasText: 'Sample data.' }).waitFor();
    await ctx.screenshot('dashboard-berlin');
    // "Change" opens the settings, anonymous visitors included.
    await follow(page, page.getByRole('link', { name: 'Change' }), (u) => u.pathname === '/settings');
    assert.equal(await page.locator('#tz').inputValue(), 'Europe/Berlin');
    await page.fill('#tz', 'Asia/Tokyo');
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/settings' && u.searchParams.get('done') === 'settings'),
      page.getByRole('button', { name: 'Save settings' }).click(),
    ]);
    await ctx.screenshot('settings');
    await page.goto('/dashboard');
    await page.locator('nav.controls p.hint', { hasText: 'Times in Asia/Tokyo' }).waitFor();
    ctx.assertClean('time zone');
  }, { timezoneId: 'Europe/Berlin' });
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
