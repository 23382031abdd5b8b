// A seller's paperwork journey through the Qcash pages in headless Chromium (Playwright). Run
// by tests/browser/browser_test.cc, which starts the system and seeds it:
//   QCASH_BASE_URL     the gateway, e.g. http://127.0.0.1:40123
//   QCASH_SELLER       the seller to log in as (development login)
//   QCASH_SCREENSHOTS  where to write a PNG of every page (desktop and phone width)
//   QCASH_LAST_MONTH   YYYY-MM of last month (JST), whose points were seeded: 12,352
//   QCASH_THIS_MONTH   YYYY-MM of this month (JST)
//   QCASH_AD_APP_PORT  where this script serves the ad-booking site's application page (its
//                      origin is the payment service's allowed return origin)
//   QCASH_CHARGE_LINK  the charge button's link, as the wallet client library's ChargeLink
//                      makes it for 20,000 yen and QCASH_AD_APP_PORT's /apply/AD-3001?step=charged
//   QCASH_CONTROL_DIR  requests to browser_test.cc: <name>.request, answered by <name>.done
//                      (fund, spend, stop-points, start-points, spend-debt)
//   QCASH_SANDBOX_URL  the provider sandbox, whose POST /sandbox/orders/<order>/reverse plays a
//                      provider taking a payment back (a card chargeback)
//   QCASH_DEBT_SELLER  a second seller, for the reversed payment: last month's points 5,000
// The journey: arrive from an ad application with a shortfall, charge, return to it, download
// the receipt, charge by other methods, find a pending counter order again, meet the Q-sign
// errors, have the ad-booking service spend on two products, use the points pages while the
// points service is down, open the month's statement and check it against the history, see
// the chart; then every page at 1200 px and 375 px wide, with no horizontal scrolling on a
// phone. Then a second seller charges by card, spends it, and the card company takes the
// payment back (a chargeback, DESIGN.md section 9): the debt (未回収額) on the balance, history,
// purchase history, order and charge pages, pay-later unavailable until a points conversion
// pays the debt back. Exits 0 when every step saw what it should.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';

const base = process.env.QCASH_BASE_URL;
const seller = process.env.QCASH_SELLER;
const shots = process.env.QCASH_SCREENSHOTS;
const lastMonth = process.env.QCASH_LAST_MONTH;
const thisMonth = process.env.QCASH_THIS_MONTH;
const control = process.env.QCASH_CONTROL_DIR;
const adOrigin = `http://127.0.0.1:${process.env.QCASH_AD_APP_PORT}`;
const returnUrl = `${adOrigin}/apply/AD-3001?step=charged`;
const chargeLink = process.env.QCASH_CHARGE_LINK;
const sandboxUrl = process.env.QCASH_SANDBOX_URL;
const debtSeller = process.env.QCASH_DEBT_SELLER;

// ---------------------------------------------------------------- the ad-booking site

// A tiny application page on its own origin, with the Qcash charge button of seed 000
// (ワンポイントアドバイス). After the charge the seller comes back to /apply/...?step=charged.
const adSite = http.createServer((request, response) => {
  const url = new URL(request.url, adOrigin);
  const back = url.searchParams.get('step') === 'charged';
  const escape = (s) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
  response.writeHead(url.pathname.startsWith('/apply/') ? 200 : 404,
                     { 'Content-Type': 'text/html; charset=utf-8' });
  response.end(`<!doctype html><html lang="ja"><meta charset="utf-8"><title>広告申請</title>
<h1 id="title">共同購入の申請</h1>
<p id="state">${back ? 'Qキャッシュのチャージから戻りました。' : '申請に必要なQキャッシュ：20,000'}</p>
<p><a id="charge-button" href="${escape(chargeLink)}">Qキャッシュをチャージ</a></p></html>`);
});
await new Promise((resolve) => adSite.listen(Number(process.env.QCASH_AD_APP_PORT), '127.0.0.1', resolve));

// ---------------------------------------------------------------- the browser

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--lang=ja-JP', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const contextOptions = { locale: 'ja-JP', timezoneId: 'Asia/Tokyo', acceptDownloads: true,
                         viewport: { width: 1200, height: 900 } };
const context = await browser.newContext(contextOptions);
let problems = [];
// Every failed response is a problem unless a step expects it (expect() removes it).
function watch(p) {
  p.on('response', (response) => {
    if (response.status() >= 400 && !response.url().endsWith('/favicon.ico')) {
      problems.push(`HTTP ${response.status()} ${response.request().method()} ${response.url()}`);
    }
  });
  p.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return p;
}
// The page every step uses: the first seller's, then the second seller's (its own context).
let page = watch(await context.newPage());
// The failures a step provoked on purpose: `status` and a part of the URL (and method).
const expect = (status, urlPart, method = '') => {
  const before = problems.length;
  problems = problems.filter((p) => !(p.startsWith(`HTTP ${status} ${method}`) && p.includes(urlPart)));
  assert.ok(problems.length < before, `expected an HTTP ${status} for ${urlPart}`);
};

const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
const text = async (selector) => (await page.textContent(selector)).trim();
const step = (name) => console.log(`step: ${name}`);
const loaded = (selector) =>
  page.waitForFunction((s) => { const e = document.querySelector(s); return e && e.textContent.trim() !== '—'; },
                       selector);
const yen = (s) => Number(String(s).replace(/[^0-9-]/g, ''));

// A message for the seller: Japanese, and nothing of the system inside (no English API text,
// no gRPC or SQL words, no addresses or ports).
function assertSellerMessage(message) {
  assert.match(message, /[ぁ-んァ-ヶ一-龠]/, `not Japanese: ${message}`);
  assert.doesNotMatch(message, /\d+\.\d+\.\d+\.\d+|localhost|:\d{4,5}\b|https?:/i, `an address: ${message}`);
  assert.doesNotMatch(message,
                      /\b(failed|connect|addresses|unavailable|deadline|grpc|rpc|sql|select|error|exception|status|internal|password)\b/i,
                      `English or system text: ${message}`);
}

// Asks browser_test.cc to do something only another client of the system can do.
async function request(name) {
  const done = `${control}/${name}.done`;
  fs.rmSync(done, { force: true });
  fs.writeFileSync(`${control}/${name}.request`, '');
  for (let i = 0; i < 600 && !fs.existsSync(done); ++i) await new Promise((r) => setTimeout(r, 100));
  const answer = fs.readFileSync(done, 'utf8');
  fs.rmSync(done);
  assert.equal(answer, 'ok', `${name}: ${answer}`);
}

// The header's balance, on every signed-in page.
async function headerBalance() {
  await loaded('#header-balance-yen');
  return text('#header-balance-yen');
}

// Fills the purchase form: a voucher, a method, the agreement.
async function chooseCharge(yenAmount, method) {
  await page.check(`#d-${yenAmount}`);
  await page.waitForSelector(`#m-PAYMENT_METHOD_${method}:not([disabled])`);
  await page.check(`#m-PAYMENT_METHOD_${method}`);
  await page.check('#agree');
}

let paypalOrder = '';
let pendingOrder = '';

// The page at phone width, no sideways scrolling, as a picture; back to desktop width.
async function phoneShot(name) {
  await page.setViewportSize({ width: 375, height: 800 });
  await page.waitForLoadState('networkidle');
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= 375, `${name} at 375 px scrolls sideways: ${scrollWidth}`);
  await shot(`${name}-375`);
  await page.setViewportSize({ width: 1200, height: 900 });
}

// A payment taken back after the credit (DESIGN.md section 9), for a seller of its own: a
// 3,000 card charge of which 2,000 is spent, then the card company's chargeback. The 1,000
// left is taken back, the 2,000 spent becomes the debt (未回収額); pay-later is not offered
// until last month's points (5,000) are converted, which pay the debt first.
async function debtJourney() {
  step('a second seller: log in, charge 3,000 by card');
  page = watch(await (await browser.newContext(contextOptions)).newPage());
  await page.goto(`${base}/dev/login`);
  await page.fill('#seller-id', debtSeller);
  await Promise.all([page.waitForURL(`${base}/`), page.click('#login')]);
  await loaded('#total');
  assert.equal(await page.isHidden('#debt-box'), true);  // no debt: no box
  await page.goto(`${base}/charge`);
  await loaded('#current');
  assert.equal(await page.isHidden('#debt-note'), true);
  assert.equal(await page.isDisabled('#m-PAYMENT_METHOD_ATONE'), false);
  await chooseCharge(3000, 'CARD');
  await page.selectOption('#card-token', 'tok_visa');
  await page.click('#buy');
  await page.waitForSelector('#result:not(.hidden)');
  await page.waitForFunction(() => document.getElementById('current').textContent === '3,000 Qキャッシュ');
  const order = /注文番号 ([A-Za-z0-9_-]+)/.exec(await text('#result-text'))[1];

  step('the ad-booking service spends 2,000 of it (共同購入)');
  await request('spend-debt');

  step('the card company takes the payment back (a chargeback of the whole 3,000)');
  const reversal = await fetch(`${sandboxUrl}/sandbox/orders/${order}/reverse?kind=chargeback`, { method: 'POST' });
  assert.ok(reversal.ok, `sandbox reverse: HTTP ${reversal.status} ${await reversal.text()}`);

  step('balance: 未回収額 2,000 in a box of its own that says why and what happens next');
  for (let attempt = 0; ; ++attempt) {
    await page.goto(`${base}/`);
    await loaded('#total');
    if (await page.isVisible('#debt-box')) break;
    assert.ok(attempt < 60, 'the reversal did not reach the balance page');
    await page.waitForTimeout(500);  // the notification is on its way: the seller reloads
  }
  assert.equal(await text('#debt'), '2,000円');
  assert.equal(await text('#available'), '0 Qキャッシュ');
  assert.equal(await text('#total'), '0 Qキャッシュ');
  assert.equal(await headerBalance(), '0');
  const explanation = await text('#debt-box');
  assertSellerMessage(explanation);
  for (const words of [/チャージバック/, /後払いの未払い/, /返金/, /未回収額/, /次回以降のチャージやサービスポイントの交換/,
                       /後払い（Atone・ペイディ）はご利用いただけません/]) {
    assert.match(explanation, words);
  }
  await shot('step-debt-balance');
  await phoneShot('step-debt-balance');

  step('history: the clawback with its order, the debt, and the debt after each line');
  await page.goto(`${base}/history`);
  await page.waitForFunction(() => document.querySelectorAll('#entries tr').length >= 4);
  const lines = await page.$$eval('#entries tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(lines.some((r) => r.includes('お支払い取り消しによる回収') && r.includes('-1,000円') &&
                               r.includes(`注文番号 ${order}`)), lines.join('\n'));
  assert.ok(lines.some((r) => r.includes('未回収額の発生') && r.includes('2,000円（未回収額）') &&
                               r.includes('未回収額（この時点）：2,000円')), lines.join('\n'));
  assert.equal(await page.isVisible('#debt-notice'), true);
  await page.selectOption('#type', 'ENTRY_TYPE_DEBT');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#entries tr').length === 1);
  await page.selectOption('#type', '');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#entries tr').length >= 4);
  await shot('step-debt-history');
  await phoneShot('step-debt-history');

  step('purchase history and order: 取り消し額 and its kind');
  await page.goto(`${base}/vouchers`);
  const row = page.locator('#orders tr', { hasText: 'Qキャッシュ(3000Qキャッシュのチャージ)' });
  await row.waitFor();
  assert.match(await row.textContent(), /取り消し額 3,000円/);
  await Promise.all([page.waitForURL((url) => url.pathname === '/charge/order'),
                     row.locator('a', { hasText: '取り消しの内容' }).click()]);
  await page.waitForSelector('#reversal-box:not(.hidden)');
  assert.equal(await text('#o-reversed'), '3,000円（チャージバック）');
  const reversals = await page.$$eval('#reversals tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(reversals.length, 1, reversals.join('\n'));
  assert.match(reversals[0], /チャージバック/);
  assert.match(reversals[0], /1,000円/);
  assert.match(reversals[0], /2,000円/);
  await shot('step-debt-order');
  await phoneShot('step-debt-order');

  step('charge: the debt by the methods; atone and Paidy unavailable, saying why');
  await page.goto(`${base}/charge`);
  await loaded('#current');
  await page.waitForSelector('#debt-note:not(.hidden)');
  assert.equal(await text('#debt-yen'), '2,000円');
  for (const method of ['ATONE', 'PAIDY']) {
    assert.equal(await page.isDisabled(`#m-PAYMENT_METHOD_${method}`), true, method);
    const label = await page.locator('#methods label', { has: page.locator(`#m-PAYMENT_METHOD_${method}`) }).textContent();
    assert.match(label, /未回収額があるため/, label);
    assertSellerMessage(label);
  }
  assert.equal(await page.isDisabled('#m-PAYMENT_METHOD_CARD'), false);
  await shot('step-debt-charge');
  await phoneShot('step-debt-charge');

  step('GO: last month\'s 5,000 points pay the debt first, the rest is available');
  await page.goto(`${base}/`);
  await page.waitForSelector('#points-go:not(.hidden)');
  await Promise.all([page.waitForURL(`${base}/points?convert=1`), page.click('#points-go')]);
  await page.waitForSelector('#confirm[open]');
  await page.click('#confirm-yes');
  await page.waitForSelector('#converted:not(.hidden)');
  assert.match(await text('#converted'), /5,000 Qキャッシュ/);
  assert.match(await text('#converted'), /2,000 Qキャッシュ は未回収額に充当されました/);
  await page.goto(`${base}/`);
  await loaded('#total');
  assert.equal(await text('#available'), '3,000 Qキャッシュ');
  assert.equal(await page.isHidden('#debt-box'), true);
  await page.goto(`${base}/history`);
  await page.waitForFunction(() => document.querySelectorAll('#entries tr').length >= 6);
  const after = await page.$$eval('#entries tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(after.some((r) => r.includes('未回収額への充当') && r.includes('-2,000円') &&
                               r.includes('サービスポイント交換で追加されたQキャッシュを、未回収額に充当しました') &&
                               r.includes('未回収額の精算が完了しました')), after.join('\n'));
  await shot('step-debt-recovered-history');

  step('pay-later is offered again');
  await page.goto(`${base}/charge`);
  await loaded('#current');
  await page.waitForSelector('#m-PAYMENT_METHOD_ATONE:not([disabled])');
  assert.equal(await page.isDisabled('#m-PAYMENT_METHOD_PAIDY'), false);
  assert.equal(await page.isHidden('#debt-note'), true);

  step('the chart: this month\'s clawed-back and recovered amounts as outgoing series');
  await page.goto(`${base}/`);
  await page.waitForSelector('#chart svg rect');
  const legend = await page.$$eval('#chart-legend li', (lis) => lis.map((li) => li.textContent));
  assert.ok(legend.includes('お支払い取り消しによる回収') && legend.includes('未回収額への充当'), legend.join(' '));
  const head = await page.$$eval('#activity-head th', (ths) => ths.map((th) => th.textContent));
  const cells = await page.$$eval('#activity tr:last-child td', (tds) => tds.map((td) => td.textContent));
  assert.equal(yen(cells[head.indexOf('お支払い取り消しによる回収') - 1]), 1000);
  assert.equal(yen(cells[head.indexOf('未回収額への充当') - 1]), 2000);
  await shot('step-debt-recovered');
}

try {
  step('log in (development login)');
  await page.goto(`${base}/`);
  await page.waitForURL(`${base}/dev/login`);
  await page.fill('#seller-id', seller);
  await Promise.all([page.waitForURL(`${base}/`), page.click('#login')]);

  step('balance (W1): a new wallet is empty; the header shows the balance');
  await loaded('#total');
  assert.equal(await text('#total'), '0 Qキャッシュ');
  assert.equal(await text('#available'), '0 Qキャッシュ');
  assert.equal(await headerBalance(), '0');
  assert.equal(await page.getAttribute('#header-balance', 'href'), '/');
  await request('fund');  // Qmoney 5,000 and 精算予定金 3,000 from sales

  step('service points: last month 12,352, convertible 12,300 (S3)');
  await page.goto(`${base}/points`);
  await loaded('#convertible');
  assert.equal(await text('#last-total'), '12,352ポイント');
  assert.equal(await text('#convertible'), '12,300ポイント');
  assert.equal(await text('#this-total'), '321ポイント');
  await shot('step-points');

  step('the balance page offers this month\'s convertible points with GO (seed 004)');
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.getElementById('convertible').textContent === '12,300ポイント');
  await page.waitForSelector('#points-go:not(.hidden)');
  step('GO opens the conversion\'s confirmation at once, which fits a phone');
  await page.setViewportSize({ width: 375, height: 800 });
  await Promise.all([page.waitForURL(`${base}/points?convert=1`), page.click('#points-go')]);
  await page.waitForSelector('#confirm[open]');
  assert.match(await text('#confirm-text'), /12,352ポイント/);
  assert.match(await text('#confirm-text'), /12,300ポイント/);
  assert.match(await text('#confirm-leftover'), /52ポイント/);
  const dialogBox = await page.locator('#confirm').boundingBox();
  assert.ok(dialogBox.x >= 0 && dialogBox.x + dialogBox.width <= 375, JSON.stringify(dialogBox));
  await shot('step-points-confirm-375');
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.click('#confirm-yes');
  await page.waitForSelector('#converted:not(.hidden)');
  assert.match(await text('#converted'), /12,300 Qキャッシュ/);
  await page.waitForFunction(() => document.getElementById('convertible').textContent === '0ポイント');
  assert.equal(await page.isDisabled('#convert'), true);
  await page.waitForFunction(() => document.getElementById('header-balance-yen').textContent === '12,300');
  await shot('step-points-converted');

  step('points per product (S4): last month typed yyyy/mm, with the general / reservation split');
  await page.goto(`${base}/points/products`);
  await page.fill('#month', lastMonth.replace('-', '/'));
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#products tr').length >= 2);
  const rows = await page.$$eval('#products tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(rows.some((r) => r.includes('P-100') && r.includes('方眼ノート A5')), rows.join('\n'));
  assert.ok(rows.some((r) => r.includes('P-200') && r.includes('3,500ポイント')), rows.join('\n'));
  const p200 = page.locator('#products tr', { hasText: 'P-200' });
  await p200.locator('button').click();
  await page.waitForSelector('#detail:not(.hidden)');
  const detail = await text('#detail-lists');
  assert.match(detail, /一般商品：1,500ポイント/);
  assert.match(detail, /予約商品：2,000ポイント/);
  await shot('step-products-detail');

  step('a date that does not exist: a Japanese message next to the search form');
  await page.fill('#month', '');
  await page.fill('#from', '2026/02/30');
  await page.fill('#to', '2026/03/10');
  await page.click('#filters button[type=submit]');
  await page.waitForSelector('#filters-error');
  assert.match(await text('#filters-error'), /開始日.*存在しない日付/);
  assertSellerMessage(await text('#filters-error'));
  await page.fill('#from', '03-2026');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => /yyyy\/mm\/dd/.test(document.getElementById('filters-error').textContent));

  step('a date before 2019-07-01 belongs to the past view (S5): said next to the form');
  await page.fill('#from', '2019/06/01');
  await page.fill('#to', '2019/07/10');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => /2019|過去/.test(document.getElementById('filters-error').textContent));
  assertSellerMessage(await text('#filters-error'));
  assert.equal(await page.isHidden('#error'), true);  // the top line is for pages that did not load
  expect(400, '/api/v1/points/products?');

  step('past service points (過去のサービスポイント), dates typed yyyy/mm/dd');
  await page.goto(`${base}/points/past`);
  await page.fill('#from', '2019/06/01');
  await page.fill('#to', '2019/07/01');
  await page.click('#filters button[type=submit]');
  await page.waitForSelector('#filters-error');
  assert.match(await text('#filters-error'), /2019\/06\/30/);
  await page.fill('#to', '2019/06/30');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#products tr').length >= 1);
  assert.equal(await page.locator('#filters-error').count(), 0);
  const past = await page.$$eval('#products tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(past.some((r) => r.includes('P-050') && r.includes('700ポイント')), past.join('\n'));

  step('an ad application needs 20,000 Qキャッシュ: its charge button (seed 000)');
  await page.goto(`${adOrigin}/apply/AD-3001`);
  await Promise.all([page.waitForURL((url) => url.href.startsWith(`${base}/charge?`)), page.click('#charge-button')]);
  await loaded('#current');
  assert.equal(await text('#current'), '12,300 Qキャッシュ');
  assert.equal(await page.locator('#denominations tr').count(), 12);
  assert.equal(await page.locator('#methods label').count(), 11);
  await page.waitForSelector('#need:not(.hidden)');
  assert.equal(await text('#need-yen'), '20,000 Qキャッシュ');
  assert.equal(await text('#need-current'), '12,300 Qキャッシュ');
  assert.equal(await text('#need-shortfall'), '7,700 Qキャッシュ');
  step('the smallest voucher that covers the shortfall is chosen; the way back is offered');
  await page.waitForFunction(() => document.getElementById('d-10000').checked);
  assert.equal(await page.getAttribute('#need-return-link', 'href'), returnUrl);
  await page.waitForSelector('#m-PAYMENT_METHOD_CARD:not([disabled])');
  await page.check('#m-PAYMENT_METHOD_CARD');
  await page.selectOption('#card-token', 'tok_visa');
  await page.check('#agree');
  await shot('step-charge-need');
  step('charge 10,000 by card (W2, P1): the new balance, and back to the application');
  await page.click('#buy');
  await page.waitForSelector('#result:not(.hidden)');
  await page.waitForFunction(() => document.getElementById('current').textContent === '22,300 Qキャッシュ');
  assert.match(await text('#balance-after'), /22,300 Qキャッシュ/);
  await page.waitForFunction(() => document.getElementById('header-balance-yen').textContent === '22,300');
  assert.match(await text('#need-text'), /必要なQキャッシュがあります/);
  await shot('step-charge-card-done');
  assert.equal(await page.getAttribute('#return-link', 'href'), returnUrl);
  await Promise.all([page.waitForURL(returnUrl), page.click('#return-link')]);
  assert.match(await text('#state'), /戻りました/);

  step('a return link to a site that is not allowed: said next to the charge form, the page still works');
  await page.goto(`${base}/charge?need=500&return=${encodeURIComponent('https://shop.example.net/apply')}`);
  await page.waitForSelector('#charge-notice:not(.hidden)');
  assertSellerMessage(await text('#charge-notice'));
  assert.match(await text('#charge-notice'), /戻り先/);
  assert.equal(await page.locator('#denominations tr').count(), 12);
  assert.equal(await page.isHidden('#need-return'), true);
  expect(400, '/api/v1/charge/options?');

  step('charge 500 yen with PayPal, again from the application: the provider page (sandbox), then back');
  await page.goto(chargeLink);
  await loaded('#current');
  await page.waitForSelector('#need:not(.hidden)');
  assert.equal(await text('#need-shortfall'), '0 Qキャッシュ');  // enough now: nothing suggested
  assert.equal(await page.locator('input[name=denomination]:checked').count(), 0);
  await chooseCharge(500, 'PAYPAL');
  await Promise.all([page.waitForURL((url) => !url.href.startsWith(base)), page.click('#buy')]);
  await shot('step-sandbox-redirect');
  await Promise.all([page.waitForURL((url) => url.href.startsWith(`${base}/charge/done`)),
                     page.click('button[value=pay]')]);
  await page.waitForFunction(() => document.getElementById('status').classList.contains('ok'));
  assert.match(await text('#status'), /チャージが完了しました/);
  await page.waitForFunction(() => document.getElementById('balance-after').textContent.length > 0);
  assert.match(await text('#balance-after'), /現在のQキャッシュ残高：22,800 Qキャッシュ/);
  paypalOrder = new URL(page.url()).searchParams.get('order_id');
  step('after the provider, the way back to the application is the order\'s own return link');
  assert.equal(await page.getAttribute('#return-link', 'href'), returnUrl);
  assert.equal(await page.isVisible('#return-link'), true);

  step('a convenience-store order: the payment number and deadline, found again later');
  await page.goto(`${base}/charge`);
  await loaded('#current');
  await chooseCharge(3000, 'CONVENIENCE_STORE');
  await page.click('#buy');
  await page.waitForSelector('#instructions:not(.hidden)');
  const paymentNumber = await text('#ins-number');
  assert.notEqual(paymentNumber, '—');
  assert.match(await text('#ins-deadline'), /日本時間/);
  step('a bank transfer left to pay');
  await page.goto(`${base}/charge`);
  await loaded('#current');
  await chooseCharge(5000, 'BANK_TRANSFER');
  await page.click('#buy');
  await page.waitForSelector('#instructions:not(.hidden)');
  assert.notEqual(await text('#ins-payee'), '—');

  step('the purchase history: both pending orders with their numbers and deadlines');
  await page.goto(`${base}/vouchers`);
  await page.waitForFunction(() => document.querySelectorAll('#orders tr').length >= 4);
  const konbini = page.locator('#orders tr', { hasText: 'Qキャッシュ(3000Qキャッシュのチャージ)' });
  assert.match(await konbini.textContent(), new RegExp(`お支払い番号 ${paymentNumber}`));
  assert.match(await konbini.textContent(), /お支払い期限 \d{4}\/\d{2}\/\d{2}/);
  const bank = page.locator('#orders tr', { hasText: 'Qキャッシュ(5000Qキャッシュのチャージ)' });
  pendingOrder = new URL(await bank.locator('a', { hasText: 'お支払い方法' }).getAttribute('href'), base)
    .searchParams.get('order_id');
  step('the order page: the instructions again, and the cancel button');
  await Promise.all([page.waitForURL((url) => url.pathname === '/charge/order'),
                     konbini.locator('a', { hasText: 'お支払い方法' }).click()]);
  await page.waitForSelector('#instructions:not(.hidden)');
  assert.equal(await text('#ins-number'), paymentNumber);
  assert.match(await text('#ins-deadline'), /日本時間/);
  assert.equal(await text('#o-voucher'), 'Qキャッシュ(3000Qキャッシュのチャージ)');
  assert.equal(await text('#o-method'), 'コンビニ、ATM、支払秘書');
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('o-state').textContent === 'キャンセル');
  assert.equal(await page.isHidden('#cancel-row'), true);

  step('the purchase history: paid vouchers have a receipt (領収書)');
  await page.goto(`${base}/vouchers`);
  await page.waitForFunction(() => document.querySelectorAll('#orders tr').length >= 4);
  const card = page.locator('#orders tr', { hasText: 'Qキャッシュ(10000Qキャッシュのチャージ)' });
  assert.match(await card.textContent(), /チャージ完了/);
  assert.match(await card.textContent(), /VISA\/MasterCard\/JCB/);
  const receipt = card.locator('a', { hasText: '領収書' });
  assert.match(await receipt.getAttribute('href'), /^\/documents\/receipts\/[A-Za-z0-9_-]+\.pdf$/);
  const cancelled = page.locator('#orders tr', { hasText: 'Qキャッシュ(3000Qキャッシュのチャージ)' });
  assert.match(await cancelled.textContent(), /キャンセル/);
  assert.equal(await cancelled.locator('a, button').count(), 0);
  await shot('step-vouchers');
  step('download the receipt: a PDF');
  const [download] = await Promise.all([page.waitForEvent('download'), receipt.click()]);
  const pdf = fs.readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  fs.copyFileSync(await download.path(), `${shots}/receipt.pdf`);  // to be looked at

  step('Q-sign password: set it, then charge 1,000 with Qmoney');
  await page.goto(`${base}/charge`);
  await loaded('#current');
  await page.fill('#qsign-new', 'qsign-pass-2026');
  await page.click('#qsign-form button[type=submit]');
  await page.waitForSelector('#qsign-done:not(.hidden)');
  await chooseCharge(1000, 'QMONEY');
  await page.fill('#qsign-password', 'qsign-pass-2026');
  await page.click('#buy');
  await page.waitForSelector('#result:not(.hidden)');
  await page.waitForFunction(() => document.getElementById('current').textContent === '23,800 Qキャッシュ');

  step('a wrong Q-sign password: said in Japanese next to the order button');
  const wrongMessages = [];
  for (let attempt = 1; attempt <= 5; ++attempt) {
    await chooseCharge(1000, 'QMONEY');
    await page.fill('#qsign-password', `wrong-${attempt}`);
    const before = wrongMessages.length ? wrongMessages[wrongMessages.length - 1] : '';
    await page.click('#buy');
    await page.waitForFunction((b) => {
      const e = document.getElementById('buy-row-error');
      return e && e.textContent && e.textContent !== b;
    }, before);
    const message = await text('#buy-row-error');
    assertSellerMessage(message);
    wrongMessages.push(message);
    if (attempt === 1) await shot('step-qsign-wrong');
  }
  console.log(wrongMessages.join('\n'));
  assert.match(wrongMessages[0], /Qサインパスワード/);
  assert.match(wrongMessages[4], /誤入力が続いた/);
  step('... with the attempts left, and the lock until a time in Japan time');
  assert.match(wrongMessages[0], /4回/);
  assert.match(wrongMessages[3], /1回/);
  // The lock's end in Japan time: later than now, within the day.
  const until = /(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2})（日本時間）/.exec(wrongMessages[4]);
  assert.ok(until, wrongMessages[4]);
  const end = Date.parse(`${until[1]}-${until[2]}-${until[3]}T${until[4]}:${until[5]}:00+09:00`);
  assert.ok(end > Date.now() && end < Date.now() + 25 * 3600 * 1000, wrongMessages[4]);
  await shot('step-qsign-locked');
  assert.equal(await page.isHidden('#error'), true);
  expect(403, '/api/v1/charge/orders', 'POST');  // wrong password
  expect(400, '/api/v1/charge/orders', 'POST');  // locked

  step('the ad-booking service spends on two products (共同購入 3,000, タイムセール掲載 12,000)');
  await request('spend');

  step('the points service stops while the seller uses the points pages');
  await page.goto(`${base}/points/products`);
  await page.waitForFunction(() => document.querySelectorAll('#products tr').length >= 1 ||
                                   !document.getElementById('empty').classList.contains('hidden'));
  await request('stop-points');
  await page.fill('#month', lastMonth.replace('-', '/'));
  await page.click('#filters button[type=submit]');
  await page.waitForSelector('#filters-error');
  const down = await text('#filters-error');
  assertSellerMessage(down);
  assert.match(down, /お問い合わせ番号|しばらく/);
  await shot('step-points-down');
  await page.goto(`${base}/points`);
  await page.waitForSelector('#error:not(.hidden)');
  assertSellerMessage(await text('#error'));
  await page.goto(`${base}/`);
  await page.waitForSelector('#points-summary-error');
  assertSellerMessage(await text('#points-summary-error'));
  await loaded('#total');  // the balance still shows
  assert.equal(await text('#total'), '8,800 Qキャッシュ');
  problems = problems.filter((p) => !(/^HTTP 50[34] GET/.test(p) && p.includes('/api/v1/points/')));
  await request('start-points');
  step('the points service is back: the seller reloads until the gateway has reconnected');
  for (let attempt = 0; ; ++attempt) {
    await page.goto(`${base}/points`);
    await page.waitForFunction(() => document.getElementById('convertible').textContent !== '—' ||
                                     !document.getElementById('error').classList.contains('hidden'));
    if (await page.isHidden('#error')) break;
    assertSellerMessage(await text('#error'));
    assert.ok(attempt < 60, 'the points pages did not come back');
    await page.waitForTimeout(1000);  // the seller waits a moment before reloading
  }
  assert.equal(await text('#convertible'), '0ポイント');
  problems = problems.filter((p) => !(/^HTTP 50[34] GET/.test(p) && p.includes('/api/v1/points/')));

  step('history (詳細): each line in words; Qmoney / 精算予定金 income apart');
  await page.goto(`${base}/history`);
  await page.waitForFunction(() => document.querySelectorAll('#entries tr').length >= 6);
  const history = await page.$$eval('#entries tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(history.some((r) => r.includes('広告利用') && r.includes('-3,000円') &&
                                 r.includes('共同購入（申請番号 AD-1001）')), history.join('\n'));
  assert.ok(history.some((r) => r.includes('タイムセール掲載（申請番号 AD-1002）')), history.join('\n'));
  assert.ok(history.some((r) => r.includes('サービスポイント交換') && r.includes('12,300円')), history.join('\n'));
  assert.ok(history.some((r) => r.includes('精算金・精算予定金でチャージ') && r.includes('Qmoney（精算金）で購入')),
            history.join('\n'));
  const [y, m] = lastMonth.split('-');
  assert.ok(history.some((r) => r.includes(`${Number(y)}年${Number(m)}月分のサービスポイント`)), history.join('\n'));
  assert.ok(history.some((r) => r.includes('Qキャッシュ(10000Qキャッシュのチャージ)をVISA/MasterCard/JCBで購入')),
            history.join('\n'));
  assert.ok(history.some((r) => r.includes('PayPal(AMEXを含むクレジットカード、銀行)で購入')), history.join('\n'));
  assert.ok(history.every((r) => !r.includes('精算金の入金')), history.join('\n'));
  const funds = await page.$$eval('#funds tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(funds.length, 2, funds.join('\n'));
  assert.ok(funds.some((r) => r.includes('Qmoney（精算金）に入金') && r.includes('5,000円')), funds.join('\n'));
  assert.ok(funds.some((r) => r.includes('精算予定金に入金') && r.includes('3,000円')), funds.join('\n'));
  step('history: dates typed yyyy/mm/dd; a wrong one is said next to the form');
  await page.fill('#from', '2026/13/01');
  await page.click('#filters button[type=submit]');
  await page.waitForSelector('#filters-error');
  assertSellerMessage(await text('#filters-error'));
  await page.fill('#from', '');
  await page.selectOption('#type', 'ENTRY_TYPE_AD_SPEND');
  await page.click('#filters button[type=submit]');
  await page.waitForFunction(() => !document.getElementById('filters-error') &&
                                   document.querySelectorAll('#entries tr').length === 2);
  const spendLines = await page.$$eval('#entries tr td.yen:not(.optional)', (tds) => tds.map((td) => td.textContent));
  const spentTotal = -spendLines.reduce((sum, t) => sum + yen(t), 0);
  assert.equal(spentTotal, 15000);

  step('the month\'s statement: lines, totals per product, and the tax, against the history');
  await page.goto(`${base}/statements`);
  await page.waitForSelector('#statement:not(.hidden)');
  assert.equal(await page.inputValue('#month'), thisMonth.replace('-', '/'));
  assert.equal(await page.isHidden('#preliminary'), false);  // this month: 速報
  const total = yen(await text('#st-total'));
  const free = yen(await text('#st-free'));
  const taxable = yen(await text('#st-taxable'));
  const tax = yen(await text('#st-tax'));
  assert.equal(total, spentTotal);
  assert.equal(free + taxable, total);
  assert.ok(free <= 12300 && taxable > 0, `free ${free}, taxable ${taxable}`);  // paid vouchers were spent too
  assert.equal(tax, Math.floor((taxable * 10) / 110));
  const products = await page.$$eval('#product-totals tr', (trs) => trs.map((tr) => tr.textContent));
  assert.ok(products.some((r) => r.includes('共同購入') && r.includes('3,000円')), products.join('\n'));
  assert.ok(products.some((r) => r.includes('タイムセール掲載') && r.includes('12,000円')), products.join('\n'));
  assert.equal(await page.locator('#lines tr').count(), 2);
  const lineFree = await page.$$eval('#lines tr', (trs) => trs.map((tr) => tr.lastElementChild.textContent));
  assert.equal(lineFree.reduce((s, t) => s + yen(t), 0), free);
  assert.equal(await page.getAttribute('#pdf', 'href'), `/documents/statements/${thisMonth}.pdf`);
  assert.equal(await page.getAttribute('#csv', 'href'), `/documents/statements/${thisMonth}.csv`);
  const [pdfDownload] = await Promise.all([page.waitForEvent('download'), page.click('#pdf')]);
  assert.equal(fs.readFileSync(await pdfDownload.path()).subarray(0, 5).toString('latin1'), '%PDF-');
  fs.copyFileSync(await pdfDownload.path(), `${shots}/statement.pdf`);
  const [csvDownload] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
  const csv = fs.readFileSync(await csvDownload.path(), 'utf8');
  assert.match(csv, /AD-1001/);
  assert.match(csv, /AD-1002/);
  step('the month before: no ad usage; back to this month with 翌月');
  await page.click('#prev-month');
  await page.waitForFunction(() => document.getElementById('lines').children.length === 0 &&
                                   !document.getElementById('empty').classList.contains('hidden'));
  assert.equal(await page.inputValue('#month'), lastMonth.replace('-', '/'));
  assert.equal(yen(await text('#st-total')), 0);
  await page.click('#next-month');
  await page.waitForFunction(() => document.getElementById('lines').children.length === 2);
  step('a month typed wrong: said next to the month form');
  await page.fill('#month', '2026/13');
  await page.click('#filters button[type=submit]');
  await page.waitForSelector('#filters-error');
  assertSellerMessage(await text('#filters-error'));

  step('the chart: the last 12 months and this month so far');
  await page.goto(`${base}/`);
  await page.waitForSelector('#chart svg rect');
  assert.equal(await page.locator('#activity tr').count(), 13);
  const now = (await page.$$eval('#activity tr', (trs) => trs.map((tr) => tr.textContent))).at(-1);
  assert.match(now, /途中/);
  const cells = await page.$$eval('#activity tr:last-child td', (tds) => tds.map((td) => td.textContent));
  assert.equal(yen(cells[0]), 10000 + 500 + 1000);  // charged: card, PayPal, Qmoney
  assert.equal(yen(cells[1]), 12300);               // converted from points
  assert.equal(yen(cells[2]), spentTotal);          // spent, every product
  assert.equal(await page.locator('#chart-legend li').count(), 11);

  step('every page at desktop and phone width: no horizontal scrolling on a phone');
  const tour = [
    ['balance', '/', '#total'],
    ['charge', '/charge', '#current'],
    ['charge-need', `/charge?need=30000&return=${encodeURIComponent(returnUrl)}`, '#need-shortfall'],
    ['charge-done', `/charge/done?order_id=${paypalOrder}`, '#detail'],
    ['history', '/history', '#header-balance-yen'],
    ['vouchers', '/vouchers', '#header-balance-yen'],
    ['order', `/charge/order?order_id=${pendingOrder}`, '#o-state'],
    ['statements', '/statements', '#header-balance-yen'],
    ['points', '/points', '#convertible'],
    ['products', '/points/products', '#header-balance-yen'],
    ['past', '/points/past', '#header-balance-yen'],
  ];
  for (const [width, suffix] of [[1200, ''], [375, '-375']]) {
    await page.setViewportSize({ width, height: width === 375 ? 800 : 900 });
    for (const [name, path, ready] of tour) {
      await page.goto(`${base}${path}`);
      await loaded(ready);
      await page.waitForLoadState('networkidle');
      if (name === 'history' || name === 'vouchers') {
        await page.waitForFunction(() => document.querySelectorAll('tbody tr').length >= 2);
      }
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= width, `${name} at ${width} px scrolls sideways: ${scrollWidth}`);
      await shot(`${name}${suffix}`);
    }
  }
  const signedOut = await browser.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
  const login = await signedOut.newPage();
  for (const [width, suffix] of [[1200, ''], [375, '-375']]) {
    await login.setViewportSize({ width, height: 700 });
    await login.goto(`${base}/dev/login`);
    assert.ok(await login.evaluate(() => document.documentElement.scrollWidth) <= width);
    await login.screenshot({ path: `${shots}/login${suffix}.png`, fullPage: true });
  }
  await signedOut.close();

  await debtJourney();

  assert.deepEqual(problems, []);
  console.log('seller journey: every step passed');
} catch (error) {
  console.error(`seller journey failed: ${error.message}`);
  for (const p of problems) console.error(p);
  await shot('failure').catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
  adSite.close();
}
