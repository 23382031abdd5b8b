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
page.on('console', (message) => {
  if (message.type() === 'error' && !message.text().includes('favicon')) {
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
  // That 400 was the point of the step; any other console error still fails the journey.
  problems.splice(0, problems.length,
                  ...problems.filter((p) => !p.includes('status of 400 (Bad Request)')));

  step('past service points (過去のサービスポイント)');
  await page.goto(`${base}/points/past`);
  await page.fill('#from', '2019-06-01');
  await page.fill('#to', '2019-06-30');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#products tr').length >= 1);
  const past = await page.$$eval('#products tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(past.some((r) => r.includes('P-050') && r.includes('700ポイント')), past.join('\n'));
  await shot('past');

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
