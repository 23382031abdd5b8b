// scratch (not committed): pages with mocked API for looking at them
import { chromium } from 'playwright-core';
import fs from 'node:fs';
const web = '/work/wt-pages/gateway/web';
const layout = fs.readFileSync(`${web}/layout.html`, 'utf8').replace(/^<!--[\s\S]*?-->\n/, '');
function compose(name) {
  const page = fs.readFileSync(`${web}/${name}.html`, 'utf8');
  const [head, ...rest] = page.split('\n');
  const get = (f) => new RegExp(`${f}="([^"]+)"`).exec(head)[1];
  return layout.replaceAll('<!-- signed-in -->\n', '').replaceAll('<!-- /signed-in -->\n', '')
    .replace('{{title}}', get('title')).replace('{{heading}}', get('heading')).replace('{{page}}', name)
    .replace(`<li><a href="${get('nav')}">`, `<li><a href="${get('nav')}" aria-current="page">`)
    .replace('{{main}}', rest.join('\n'));
}
const months = [];
for (let i = 12; i >= 0; --i) {
  const d = new Date(Date.UTC(2026, 11 - i, 1));
  const m = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
  const k = 12 - i;
  months.push({ month: m, partial: i === 0, chargedYen: String(k % 3 ? 10000 * (k % 4) : 0), convertedYen: String(k % 2 ? 12300 : 0),
    spentYen: '0', spent: k % 5 ? [{ product: 'AD_PRODUCT_GROUP_BUYING', amountYen: String(3000 * (k % 3)) },
      { product: 'AD_PRODUCT_TIME_SALE', amountYen: '2500' }, { product: 'AD_PRODUCT_PREMIUM_DISPLAY', amountYen: String(1500 * k) }] : [],
    forfeitedYen: k === 7 ? '800' : '0' });
}
const api = {
  '/api/v1/balance': { balance: { totalYen: '18300', availableYen: '18300', heldYen: '0', qmoneyYen: '4000', pendingSettlementYen: '3000' } },
  '/api/v1/activity': { months },
  '/api/v1/points/summary': { month: { year: 2026, month: 12 }, points: {}, conversion: { pointsMonth: { year: 2026, month: 11 }, convertiblePoints: '12300', previousMonthPoints: { totalPoints: '12352' } } },
  '/api/v1/statements/2026-12': { month: '2026-12', periodStart: '2026-11-30T15:00:00Z', periodEnd: '2026-12-31T15:00:00Z', closed: false,
    lines: [{ entrySeq: '5', type: 'ENTRY_TYPE_AD_SPEND', createdAt: '2026-12-01T01:00:00Z', product: 'AD_PRODUCT_GROUP_BUYING', reference: 'AD-1001', amountYen: '3000', paidYen: '0', freeYen: '3000' },
            { entrySeq: '6', type: 'ENTRY_TYPE_AD_CAPTURE', createdAt: '2026-12-01T02:00:00Z', product: 'AD_PRODUCT_TIME_SALE', reference: 'AD-1002-LONG-REFERENCE-123456', amountYen: '2500', paidYen: '2500', freeYen: '0' }],
    lineCount: '2', totalYen: '5500', freeYen: '3000', taxableYen: '2500', taxRatePercent: 10, taxYen: '227',
    products: [{ product: 'AD_PRODUCT_GROUP_BUYING', lines: '1', amountYen: '3000', paidYen: '0', freeYen: '3000' }, { product: 'AD_PRODUCT_TIME_SALE', lines: '1', amountYen: '2500', paidYen: '2500', freeYen: '0' }] },
};
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const ctx = await browser.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo' });
const page = await ctx.newPage();
page.on('console', (m) => console.log('console', m.text()));
page.on('pageerror', (e) => console.log('pageerror', e.message));
await page.route('http://qcash.test/**', (route) => {
  const url = new URL(route.request().url());
  if (url.pathname.startsWith('/static/')) {
    const f = url.pathname.slice(8);
    return route.fulfill({ body: fs.readFileSync(`${web}/${f}`), contentType: f.endsWith('.js') ? 'text/javascript' : 'text/css' });
  }
  if (url.pathname.startsWith('/api/')) {
    const body = api[url.pathname];
    return route.fulfill({ status: body ? 200 : 404, contentType: 'application/json', body: JSON.stringify(body || { message: '見つかりません。' }) });
  }
  const name = { '/': 'index', '/statements': 'statements' }[url.pathname];
  return route.fulfill({ contentType: 'text/html; charset=utf-8', body: compose(name) });
});
for (const [name, path] of [['index', '/'], ['statements', '/statements']]) {
  for (const w of [1200, 375]) {
    await page.setViewportSize({ width: w, height: 900 });
    await page.goto(`http://qcash.test${path}`);
    await page.waitForTimeout(500);
    if (name === 'index') await page.click('details summary');
    console.log(name, w, await page.evaluate(() => document.documentElement.scrollWidth));
    await page.screenshot({ path: `/tmp/pages-mock/${name}-${w}.png`, fullPage: true }); if (name === 'index') await page.locator('#chart-box').screenshot({ path: `/tmp/pages-mock/chart-${w}.png` });
  }
}
await browser.close();
