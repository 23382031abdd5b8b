// A seller's journey through the Qcash pages in headless Chromium (Playwright). Run by
// tests/browser/browser_test.cc, which starts the system and seeds it:
//   QCASH_BASE_URL     the gateway, e.g. http://127.0.0.1:40123
//   QCASH_SELLER       the seller to log in as (development login)
//   QCASH_SCREENSHOTS  where to write a PNG of every page
//   QCASH_LAST_MONTH   YYYY-MM of last month (JST), whose points were seeded: 12,352
// Exits 0 when every step saw what it should.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';

const base = process.env.QCASH_BASE_URL;
const seller = process.env.QCASH_SELLER;
const shots = process.env.QCASH_SCREENSHOTS;
const lastMonth = process.env.QCASH_LAST_MONTH;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--lang=ja-JP', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo',
                                           viewport: { width: 1200, height: 900 } });
const page = await context.newPage();
const problems = [];
// Every failed response is a problem unless a step expects it (its URL is then removed).
page.on('response', (response) => {
  if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) {
    problems.push(`HTTP ${response.status()} ${response.url()}`);
  }
});
page.on('console', (message) => {
  if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
    problems.push(`console: ${message.text()}`);
  }
});
page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const text = async (selector) => (await page.textContent(selector)).trim();
const step = (name) => console.log(`step: ${name}`);
const loaded = (selector) =>
  page.waitForFunction((s) => { const e = document.querySelector(s); return e && e.textContent !== '—'; },
                       selector);

try {
  step('log in (development login)');
  await page.goto(`${base}/`);
  await page.waitForURL(`${base}/dev/login`);
  await shot('login');
  await page.fill('#seller-id', seller);
  await Promise.all([page.waitForURL(`${base}/`), page.click('#login')]);

  step('balance (W1): a new wallet is empty');
  await loaded('#total');
  assert.equal(await text('#total'), '0 Qキャッシュ');
  assert.equal(await text('#available'), '0 Qキャッシュ');
  await shot('balance');

  step('service points: last month 12,352, convertible 12,300 (S3)');
  await page.goto(`${base}/points`);
  await loaded('#convertible');
  assert.equal(await text('#last-total'), '12,352ポイント');
  assert.equal(await text('#convertible'), '12,300ポイント');
  assert.equal(await text('#this-total'), '321ポイント');
  await shot('points');

  step('convert: the confirmation shows what converts and what is left over');
  await page.click('#convert');
  await page.waitForSelector('#confirm[open]');
  assert.match(await text('#confirm-text'), /12,352ポイント/);
  assert.match(await text('#confirm-text'), /12,300ポイント/);
  assert.match(await text('#confirm-leftover'), /52ポイント/);
  await page.click('#confirm-yes');
  await page.waitForSelector('#converted:not(.hidden)');
  assert.match(await text('#converted'), /12,300 Qキャッシュ/);
  await page.waitForFunction(() => document.getElementById('convertible').textContent === '0ポイント');
  assert.equal(await page.isDisabled('#convert'), true);
  await shot('points-converted');

  step('balance after the conversion: 12,300');
  await page.goto(`${base}/`);
  await loaded('#total');
  assert.equal(await text('#total'), '12,300 Qキャッシュ');

  step('points per product (S4): last month, with the general / reservation split');
  await page.goto(`${base}/points/products`);
  await page.fill('#month', lastMonth);
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#products tr').length >= 2);
  const rows = await page.$$eval('#products tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(rows.some((r) => r.includes('P-100') && r.includes('方眼ノート A5')), rows.join('\n'));
  assert.ok(rows.some((r) => r.includes('P-200') && r.includes('3,500ポイント')), rows.join('\n'));
  await shot('products');
  const p200 = page.locator('#products tr', { hasText: 'P-200' });
  await p200.locator('button').click();
  await page.waitForSelector('#detail:not(.hidden)');
  const detail = await text('#detail-lists');
  assert.match(detail, /一般商品：1,500ポイント/);
  assert.match(detail, /予約商品：2,000ポイント/);
  await shot('products-detail');

  step('a date before 2019-07-01 belongs to the past view (S5)');
  await page.evaluate(() => { document.getElementById('from').removeAttribute('min'); });
  await page.fill('#month', '');
  await page.fill('#from', '2019-06-01');
  await page.fill('#to', '2019-07-10');
  await page.click('#filters button[type=submit]');
  await page.waitForSelector('#error:not(.hidden)');
  assert.match(await text('#error'), /2019-07-01|過去|past/i);
  // That 400 was the point of the step; any other failure still fails the journey.
  problems.splice(0, problems.length,
                  ...problems.filter((p) => !p.startsWith('HTTP 400') ||
                                            !p.includes('/api/v1/points/products?')));

  step('past service points (過去のサービスポイント)');
  await page.goto(`${base}/points/past`);
  await page.fill('#from', '2019-06-01');
  await page.fill('#to', '2019-06-30');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#products tr').length >= 1);
  const past = await page.$$eval('#products tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(past.some((r) => r.includes('P-050') && r.includes('700ポイント')), past.join('\n'));
  await shot('past');

  step('charge 1,000 yen by card through the sandbox (W2, P1)');
  await page.goto(`${base}/charge`);
  await loaded('#current');
  assert.equal(await text('#current'), '12,300 Qキャッシュ');
  assert.equal(await page.locator('#denominations tr').count(), 12);
  assert.equal(await page.locator('#methods label').count(), 11);
  await page.check('#d-1000');
  await page.waitForSelector('#m-PAYMENT_METHOD_CARD:not([disabled])');
  await page.check('#m-PAYMENT_METHOD_CARD');
  await page.selectOption('#card-token', 'tok_visa');
  await page.check('#agree');
  await shot('charge');
  await page.click('#buy');
  await page.waitForSelector('#result:not(.hidden)');
  await page.waitForFunction(() => document.getElementById('current').textContent === '13,300 Qキャッシュ');
  await shot('charge-card-done');

  step('the balance rose by exactly 1,000');
  await page.goto(`${base}/`);
  await loaded('#total');
  assert.equal(await text('#total'), '13,300 Qキャッシュ');

  step('charge 500 yen with PayPal: the provider page (sandbox), then back');
  await page.goto(`${base}/charge`);
  await loaded('#current');
  await page.check('#d-500');
  await page.waitForSelector('#m-PAYMENT_METHOD_PAYPAL:not([disabled])');
  await page.check('#m-PAYMENT_METHOD_PAYPAL');
  await page.check('#agree');
  await Promise.all([page.waitForURL((url) => !url.href.startsWith(base)), page.click('#buy')]);
  await shot('sandbox-redirect');
  await Promise.all([page.waitForURL((url) => url.href.startsWith(`${base}/charge/done`)),
                     page.click('button[value=pay]')]);
  await page.waitForFunction(() => document.getElementById('status').classList.contains('ok'));
  assert.match(await text('#status'), /チャージが完了しました/);
  await shot('charge-done');

  step('the purchase history shows both vouchers (P6)');
  await page.goto(`${base}/vouchers`);
  await page.waitForFunction(() => document.querySelectorAll('#orders tr').length >= 2);
  const vouchers = await page.$$eval('#orders tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(vouchers.some((r) => r.includes('Qキャッシュ(1000Qキャッシュのチャージ)') &&
                                 r.includes('チャージ完了')), vouchers.join('\n'));
  assert.ok(vouchers.some((r) => r.includes('Qキャッシュ(500Qキャッシュのチャージ)') &&
                                 r.includes('チャージ完了')), vouchers.join('\n'));
  await shot('vouchers');

  step('balance: 12,300 + 1,000 + 500');
  await page.goto(`${base}/`);
  await loaded('#total');
  assert.equal(await text('#total'), '13,800 Qキャッシュ');

  step('history (詳細): the conversion, with the balance after it');
  await page.goto(`${base}/history`);
  await page.waitForFunction(() => document.querySelectorAll('#entries tr').length >= 1);
  const history = await page.$$eval('#entries tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(history.some((r) => r.includes('サービスポイント交換') && r.includes('12,300円')),
            history.join('\n'));
  await shot('history');

  assert.deepEqual(problems, []);
  console.log('seller journey: every step passed');
} catch (error) {
  console.error(`seller journey failed: ${error.message}`);
  for (const p of problems) console.error(p);
  await shot('failure').catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
