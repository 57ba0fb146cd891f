// The browser test on AWS (issue #6): the real `backspin serve` configured for S3, SQS, SNS and
// Cognito, all on moto's server on loopback. scripts/browser-test.sh makes the resources
// (tests/browser/aws_setup.py), starts the server and sets, besides lib.mjs's variables:
//
//   S3_ORIGIN   where the bucket is (moto's address): files must be posted there, not to Backspin
//
// The flow: sign up through Cognito, confirm the address with the e-mailed code (moto sends no
// mail and accepts any code: the code check is Cognito's, which moto does not do), sign in,
// upload the sample zip straight to S3 with a progress bar, see the dashboard, sign out
// everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RUN, required, signIn, uploadSample, withContext } from './lib.mjs';

const S3_ORIGIN = required('S3_ORIGIN').replace(/\/+$/, '');

test('AWS flow: Cognito sign-up and confirmation, upload straight to S3, dashboard, sign out everywhere', async () => {
  await withContext('aws', async (ctx) => {
    const { page } = ctx;
    const email = `aws-${RUN}@example.com`;
    const password = `Aws-Pass-${RUN}-k7`;
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') {
        posts.push(r.url());
      }
    });

    // Sign up: Cognito holds the account and asks for the code it e-mailed.
    await page.goto('/signup');
    await page.fill('#email', email);
    await page.fill('#password', password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/confirm'),
      page.getByRole('button', { name: 'Create my account' }).click(),
    ]);
    assert.equal(await page.inputValue('#email'), email, 'the confirm page knows the address');
    await ctx.screenshot('confirm');

    // Signing in before confirming is refused with the way forward.
    assert.ok((await signIn(page, email, password)) < 400);
    assert.equal(new URL(page.url()).pathname, '/confirm', 'an unconfirmed account is sent to confirm');

    await page.fill('#code', '123456');
    await Promise.all([
      page.waitForURL((u) => u.pathname !== '/confirm'),
      page.getByRole('button', { name: 'Confirm' }).click(),
    ]);
    await ctx.screenshot('confirmed');

    // Sign in through Cognito.
    const status = await signIn(page, email, password);
    assert.ok(status >= 300 && status < 400, `sign-in answered ${status}`);
    await page.goto('/uploads');
    assert.equal(await page.locator('nav a[href="/account"]').getAttribute('title'), email, 'signed in as the account');

    // Upload straight to S3.
    assert.equal(await page.locator('form[data-upload]').getAttribute('data-direct'), '', 'the form posts to S3');
    const { id, plays } = await uploadSample(ctx, 'upload');
    assert.ok(
      posts.some((u) => u.startsWith(`${S3_ORIGIN}/`)),
      `the file went to S3 (${S3_ORIGIN}); POSTs: ${posts.join(', ')}`,
    );
    assert.ok(
      !posts.some((u) => new URL(u).pathname === '/api/v1/uploads'),
      'the file did not go through the web tier',
    );

    // Its dashboard.
    await page.goto(`/dashboard?u=${encodeURIComponent(id)}`);
    await page.getByRole('heading', { name: 'Your listening' }).waitFor();
    const main = await page.locator('main').innerText();
    assert.match(main, new RegExp(`Plays\\s+${plays.toLocaleString('en-US')}\\b`), 'the dashboard counts the upload\'s plays');
    await ctx.screenshot('dashboard');

    // Sign out everywhere: this browser's session ends too.
    await page.goto('/account');
    await Promise.all([
      page.waitForURL((u) => u.pathname !== '/account'),
      page.getByRole('button', { name: /sign out everywhere/i }).click(),
    ]);
    await page.goto('/uploads');
    assert.equal(await page.getByRole('button', { name: 'Sign out', exact: true }).count(), 0, 'signed out');
    await ctx.screenshot('signed-out');
  });
});
