// Qcash seller pages: a little JavaScript over the JSON API (/api/v1, proto3 JSON).
// Everything shown is set with textContent, never parsed as HTML. Amounts are yen with
// thousands separators; times are shown in Japan time (Asia/Tokyo).
'use strict';

const Q = (() => {
  const yenFormat = new Intl.NumberFormat('ja-JP');
  const timeFormat = new Intl.DateTimeFormat('ja-JP', {
    timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });

  function cookie(name) {
    for (const part of document.cookie.split(';')) {
      const [key, ...rest] = part.trim().split('=');
      if (key === name) return rest.join('=');
    }
    return '';
  }

  // int64 fields arrive as strings (proto3 JSON); BigInt keeps every yen exact.
  function number(value) { return yenFormat.format(BigInt(value || 0)); }
  function yen(value) { return number(value) + '円'; }
  function qcash(value) { return number(value) + ' Qキャッシュ'; }
  function time(rfc3339) { return rfc3339 ? timeFormat.format(new Date(rfc3339)) : ''; }
  // A table cell with the date and the time on lines of their own (narrow on a phone).
  function whenCell(rfc3339) {
    const cell = document.createElement('td');
    cell.className = 'when';
    const [date, clock] = time(rfc3339).split(' ');
    for (const part of [date, clock]) {
      const span = document.createElement('span');
      span.textContent = part || '';
      cell.append(span);
    }
    return cell;
  }
  // For deadlines standing alone: says the time zone.
  function jst(rfc3339) { return rfc3339 ? `${time(rfc3339)}（日本時間）` : ''; }

  // `YYYY-MM-DD` (from parseDate), as the RFC 3339 instant of 00:00 that day in Japan time.
  function jstMidnight(date, plusDays = 0) {
    const d = new Date(date + 'T00:00:00+09:00');
    d.setUTCDate(d.getUTCDate() + plusDays);
    return d.toISOString();
  }

  // The current month in Japan time, "YYYY-MM".
  function thisMonth() {
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit' })
      .formatToParts(new Date());
    const get = (type) => parts.find((p) => p.type === type).value;
    return `${get('year')}-${get('month')}`;
  }

  // Dates are typed as yyyy/mm/dd (and months as yyyy/mm), whatever the browser's locale.
  // Returns '' for an empty field, "YYYY-MM-DD" for a real date; throws a Japanese message
  // naming the field otherwise.
  function parseDate(text, label) {
    const value = (text || '').trim();
    if (!value) return '';
    const m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(value);
    const wrong = new Error(`${label}は「yyyy/mm/dd」の形で入力してください（例：2026/11/03）。`);
    if (!m) throw wrong;
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const date = new Date(Date.UTC(y, mo - 1, d));
    if (y < 2000 || y > 2999 || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
      throw new Error(`${label}の「${value}」は存在しない日付です。yyyy/mm/dd の形で正しい日付を入力してください。`);
    }
    return `${m[1]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  }
  function parseMonth(text, label) {
    const value = (text || '').trim();
    if (!value) return '';
    const m = /^(\d{4})[/-](\d{1,2})$/.exec(value);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 12 || Number(m[1]) < 2000 || Number(m[1]) > 2999) {
      throw new Error(`${label}は「yyyy/mm」の形で入力してください（例：2026/11）。`);
    }
    return `${m[1]}-${m[2].padStart(2, '0')}`;
  }
  // "YYYY-MM" -> "2026年10月"; "YYYY-MM-DD" -> "yyyy/mm/dd" for inputs.
  const monthName = (ym) => (ym ? `${Number(ym.slice(0, 4))}年${Number(ym.slice(5, 7))}月` : '');
  const slashed = (iso) => iso.replaceAll('-', '/');

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function link(href, text, className) {
    const a = el('a', text, className);
    a.href = href;
    return a;
  }

  // The top error line: only for a page that could not load.
  function showError(message) {
    const box = document.getElementById('error');
    if (!box) return;
    box.textContent = message;
    box.classList.toggle('hidden', !message);
  }

  // An error next to the form or button that caused it (role="alert", read out when it
  // appears): right after `anchor` (at the end of it, for a whole <section>), with the id
  // `<anchor id>-error`; '' removes it.
  function say(anchor, message) {
    const id = `${anchor.id}-error`;
    let box = document.getElementById(id);
    if (!message) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = el('p', '', 'error action-error');
      box.id = id;
      box.setAttribute('role', 'alert');
      if (anchor.tagName === 'SECTION') anchor.append(box);
      else anchor.after(box);
    }
    box.textContent = message;
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // Only what the server returned as a return link, and only web addresses: never a script.
  function safeUrl(url) { return typeof url === 'string' && /^https?:\/\/[^\s]+$/i.test(url) ? url : ''; }

  // One API call. Mutations carry the CSRF token and an Idempotency-Key: pass the same key
  // when retrying the same action, so that it happens once.
  async function api(path, { method = 'GET', body, query, key } = {}) {
    const url = new URL(path, location.origin);
    for (const [name, value] of Object.entries(query || {})) {
      for (const v of [].concat(value)) if (v !== '' && v !== undefined) url.searchParams.append(name, v);
    }
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') {
      headers['Content-Type'] = 'application/json';
      // Behind TLS the cookie carries the __Host- prefix (bound to this origin, Secure, Path=/).
      headers['X-CSRF-Token'] = cookie('__Host-qcash_csrf') || cookie('qcash_csrf');
      headers['Idempotency-Key'] = key || newKey();
    }
    let response;
    try {
      response = await fetch(url, {
        method, headers, credentials: 'same-origin',
        body: method === 'GET' ? undefined : JSON.stringify(body || {}),
      });
    } catch (e) {
      const error = new Error('通信できませんでした。インターネット接続を確認して、もう一度お試しください。');
      error.status = 0;
      throw error;
    }
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) {
      location.href = '/dev/login';
      throw new Error('ログインしてください。');
    }
    if (!response.ok) {
      // The gateway's error body (gateway/errors.h): `message` is Japanese text for sellers, the
      // ErrorInfo carries the reason and the request id that support looks up. Anything else
      // (a proxy's page) gets a Japanese text of its own: never English or addresses.
      const info = (data.details || []).find((d) => d && d.reason) || {};
      const requestId = (info.metadata || {}).requestId || response.headers.get('X-Request-Id') || '';
      const japanese = typeof data.message === 'string' && /[\u3040-\u30ff\u4e00-\u9fff]/.test(data.message);
      let text = japanese ? data.message
        : `エラーが発生しました（${response.status}）。しばらく待ってから、もう一度お試しください。`;
      if (requestId) text += `（お問い合わせ番号：${requestId}）`;
      const error = new Error(text);
      error.reason = info.reason || '';
      error.requestId = requestId;
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // The header's Qcash balance, on every signed-in page.
  async function headerBalance() {
    const node = document.getElementById('header-balance-yen');
    if (!node) return;
    try {
      const { balance } = await api('/api/v1/balance');
      node.textContent = number(balance.totalYen);
    } catch (e) {
      node.textContent = '—';  // the page's own parts say what failed
    }
  }

  return { api, number, yen, qcash, time, whenCell, jst, jstMidnight, thisMonth, parseDate, parseMonth,
           monthName, slashed, el, link, showError, say, newKey, safeUrl, headerBalance };
})();

const ENTRY_TYPES = {
  ENTRY_TYPE_CHARGE: 'チャージ',
  ENTRY_TYPE_POINTS_CONVERSION: 'サービスポイント交換',
  ENTRY_TYPE_AD_SPEND: '広告利用',
  ENTRY_TYPE_AD_HOLD: '広告申請（保留）',
  ENTRY_TYPE_AD_CAPTURE: '広告承認（使用）',
  ENTRY_TYPE_AD_HOLD_REMAINDER: '承認後の差額返却',
  ENTRY_TYPE_AD_RELEASE: '広告却下・キャンセル（返却）',
  ENTRY_TYPE_AD_HOLD_EXPIRED: '保留期限切れ（返却）',
  ENTRY_TYPE_INTERNAL_FUNDS_CHARGE: '精算金・精算予定金でチャージ',
  ENTRY_TYPE_INTERNAL_FUNDS_CREDIT: '精算金の入金',
  ENTRY_TYPE_FORFEIT: '退店による失効',
  // A payment the provider took back after the charge (DESIGN.md section 9).
  ENTRY_TYPE_CLAWBACK: 'お支払い取り消しによる回収',
  ENTRY_TYPE_DEBT: '未回収額の発生',
  ENTRY_TYPE_DEBT_RECOVERY: '未回収額への充当',
};
// The entries of a reversed payment: the history explains them.
const DEBT_TYPES = new Set(['ENTRY_TYPE_CLAWBACK', 'ENTRY_TYPE_DEBT', 'ENTRY_TYPE_DEBT_RECOVERY']);

// Why the payment company took a payment back (ChargeOrder.reversals[].kind).
const REVERSAL_KINDS = {
  REVERSAL_KIND_CHARGEBACK: 'チャージバック',
  REVERSAL_KIND_DEFAULT: '後払い未払い',
  REVERSAL_KIND_REFUND: '返金',
};
const REVERSAL_STATES = {
  REVERSAL_STATE_WAITING_FOR_CREDIT: 'チャージ後に反映',
  REVERSAL_STATE_APPLYING: '処理中',
  REVERSAL_STATE_APPLIED: '反映済み',
};
// "取り消し額 3,000円（チャージバック・返金）": the total and the kinds of an order's reversals
// (the kinds only where the answer lists the reversals: GetChargeOrder).
function reversalText(order) {
  const kinds = [...new Set((order.reversals || []).map((r) => REVERSAL_KINDS[r.kind]).filter(Boolean))];
  return `${Q.yen(order.reversedYen)}${kinds.length ? `（${kinds.join('・')}）` : ''}`;
}
const reversed = (order) => BigInt(order.reversedYen || 0) > 0n;

// The eight paid ad products, in AdProduct order (the chart's and the statement's order).
const AD_PRODUCTS = {
  AD_PRODUCT_GROUP_BUYING: '共同購入',
  AD_PRODUCT_PLUS_KEYWORD: 'プラス展示-キーワード別',
  AD_PRODUCT_PLUS_CATEGORY: 'プラス展示-カテゴリ別',
  AD_PRODUCT_TIME_SALE: 'タイムセール掲載',
  AD_PRODUCT_TODAYS_SPECIAL: '今日の特価掲載',
  AD_PRODUCT_POWER_RANK_UP: 'パワーランクアップ',
  AD_PRODUCT_QSPECIAL_PREMIUM: 'Qspecialプレミアム',
  AD_PRODUCT_PREMIUM_DISPLAY: 'プレミアム展示',
};

// Payment methods as the guide names them, keyed by the payment service's lowercase name
// (HistoryEntry.payment_method; PaymentMethod enum names lowercased without the prefix):
// services/payment/catalog.h.
const METHOD_LABELS = {
  atone: 'Atone(コンビニ翌月払い)',
  card: 'VISA/MasterCard/JCB',
  paypal: 'PayPal(AMEXを含むクレジットカード、銀行)',
  bank_transfer: '銀行振込',
  convenience_store: 'コンビニ、ATM、支払秘書',
  paidy: 'あと払い(ペイディ)3回あと払いも可能',
  line_pay: 'LINE Pay',
  au_easy_payment: 'auかんたん決済',
  net_banking: 'ネットバンキング(PAYGENT)',
  qmoney: 'Qmoney（精算金）',
  pending_settlement: '精算予定金',
};
const methodLabel = (method) =>
  METHOD_LABELS[String(method || '').replace(/^PAYMENT_METHOD_/, '').toLowerCase()] || '';

// Movements that take Qcash away from "available" are shown as negative amounts. A DEBT entry
// moves none (it records what could not be taken back): its amount is marked （未回収額）.
const OUTGOING = new Set(['ENTRY_TYPE_AD_SPEND', 'ENTRY_TYPE_AD_HOLD', 'ENTRY_TYPE_FORFEIT',
                          'ENTRY_TYPE_CLAWBACK', 'ENTRY_TYPE_DEBT_RECOVERY']);

const PAGES = {};

// A table filled a page at a time (history, charge vouchers, products, statements):
// fetchPage(pageToken) appends one page's rows and returns the next page's token. The page's
// "more" button fetches the next page, its "filters" form (if it has one) starts over, and
// "empty" shows when there are no rows. A failed search or "more" says so next to the form or
// button. Returns load: load(true) starts over, load(false) goes on.
function pagedTable(body, fetchPage, { filters = document.getElementById('filters') } = {}) {
  const more = document.getElementById('more');
  let pageToken = '';
  async function load(reset) {
    if (reset) pageToken = '';
    const token = await fetchPage(pageToken, reset);
    pageToken = token || '';
    more.classList.toggle('hidden', !pageToken);
    document.getElementById('empty').classList.toggle('hidden', body.children.length > 0);
  }
  if (filters) {
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      load(true).then(() => Q.say(filters, '')).catch((e) => Q.say(filters, e.message));
    });
  }
  more.addEventListener('click', () =>
    load(false).then(() => Q.say(more, '')).catch((e) => Q.say(more, e.message)));
  return load;
}

// ---------------------------------------------------------------- balance page and chart

// The chart's series: what came in (left bar of a month) and what went out (right bar).
const INCOMING_SERIES = [['charged', 'チャージ'], ['converted', 'サービスポイント交換']];
const OUTGOING_SERIES = [
  ...Object.entries(AD_PRODUCTS).map(([product, label], i) => [product, label, `s-p${i + 1}`]),
  ['forfeited', '退店による失効', 's-forfeited'],
];
// Shown only when some month has them: a payment taken back by the payment company, and the
// credits that paid the debt it left.
const REVERSAL_SERIES = [
  ['clawedBack', 'お支払い取り消しによる回収', 's-clawedBack'],
  ['debtRecovered', '未回収額への充当', 's-debtRecovered'],
];
const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// One month's figures as plain numbers (yen amounts of a seller fit a double exactly).
function monthFigures(m) {
  const figures = { charged: Number(m.chargedYen || 0), converted: Number(m.convertedYen || 0),
                    forfeited: Number(m.forfeitedYen || 0), spent: Number(m.spentYen || 0),
                    clawedBack: Number(m.clawedBackYen || 0), debtRecovered: Number(m.debtRecoveredYen || 0) };
  for (const p of Object.keys(AD_PRODUCTS)) figures[p] = 0;
  for (const s of m.spent || []) figures[s.product] = Number(s.amountYen || 0);
  return figures;
}

// The axis: a round step (1, 2 or 5 times a power of ten) giving at most five gridlines, and
// the smallest multiple of it at or above `max`.
function niceAxis(max) {
  if (max <= 0) return { top: 1000, step: 250 };
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((f) => f * power).find((v) => v >= rough);
  return { top: Math.ceil(max / step) * step, step };
}

// Axis labels stay short enough for a phone: 10,000 and up in 万 (1万 = 10,000円).
const axisLabel = (value) => (value >= 10000 ? `${Number((value / 10000).toFixed(1))}万` : Q.number(Math.round(value)));

function drawChart(months) {
  const area = document.getElementById('chart');
  area.textContent = '';
  // A phone gets a narrower, relatively taller drawing, so that its text stays readable.
  const narrow = area.clientWidth < 560;
  const width = narrow ? 400 : 720;
  const height = narrow ? 300 : 330;
  const left = narrow ? 40 : 78;
  const right = 8;
  const top = 12;
  const bottom = 52;
  const rows = months.map((m) => ({ month: m.month, partial: !!m.partial, f: monthFigures(m) }));
  const outgoing = [...OUTGOING_SERIES, ...REVERSAL_SERIES.filter(([key]) => rows.some((r) => r.f[key] > 0))];
  const inTotal = (f) => f.charged + f.converted;
  const outTotal = (f) => outgoing.reduce((sum, [key]) => sum + f[key], 0);
  const { top: max, step } = niceAxis(Math.max(0, ...rows.map((r) => Math.max(inTotal(r.f), outTotal(r.f)))));
  const plotHeight = height - top - bottom;
  const y = (value) => top + plotHeight - (value / max) * plotHeight;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title',
                             class: narrow ? 'chart narrow' : 'chart', preserveAspectRatio: 'xMidYMid meet' });
  chart.append(svg('title', { id: 'chart-title' }, '月ごとのQキャッシュの入出金（左：チャージ・ポイント交換、右：広告利用・失効）'));
  for (let value = 0; value <= max; value += step) {
    chart.append(svg('line', { x1: left, x2: width - right, y1: y(value), y2: y(value), class: 'grid' }));
    chart.append(svg('text', { x: left - 4, y: y(value) + 5, 'text-anchor': 'end', class: 'axis' },
                     axisLabel(value)));
  }
  const slot = (width - left - right) / Math.max(1, rows.length);
  const bar = slot * 0.36;
  rows.forEach((r, i) => {
    const x0 = left + slot * i + slot * 0.12;
    const label = Q.monthName(r.month) + (r.partial ? '（今月・途中）' : '');
    const stack = (series, x) => {
      let base = 0;
      for (const [key, name, cls] of series) {
        const value = r.f[key];
        if (value <= 0) continue;
        const rect = svg('rect', { x, y: y(base + value), width: bar,
                                   height: Math.max(1, y(base) - y(base + value)),
                                   class: cls || `s-${key}` });
        rect.append(svg('title', {}, `${label} ${name}：${Q.yen(value)}`));
        chart.append(rect);
        base += value;
      }
    };
    stack(INCOMING_SERIES, x0);
    stack(outgoing, x0 + bar + slot * 0.04);
    const cx = left + slot * i + slot / 2;
    chart.append(svg('text', { x: cx, y: height - bottom + 20, 'text-anchor': 'middle', class: 'axis' },
                     `${Number(r.month.slice(5, 7))}月`));
    if (i === 0 || r.month.endsWith('-01') || r.partial) {
      chart.append(svg('text', { x: cx, y: height - bottom + 40, 'text-anchor': 'middle', class: 'axis small' },
                       r.partial ? '今月' : r.month.slice(0, 4)));
    }
  });
  chart.append(svg('line', { x1: left, x2: width - right, y1: y(0), y2: y(0), class: 'baseline' }));
  area.append(chart);

  const legend = document.getElementById('chart-legend');
  legend.textContent = '';
  for (const [key, name, cls] of [...INCOMING_SERIES, ...outgoing]) {
    const item = Q.el('li');
    item.append(Q.el('span', '', `swatch ${cls || `s-${key}`}`), document.createTextNode(name));
    legend.append(item);
  }

  // The same figures as a table (for screen readers and for exact amounts).
  const head = document.getElementById('activity-head');
  const body = document.getElementById('activity');
  head.textContent = '';
  body.textContent = '';
  const headRow = Q.el('tr');
  headRow.append(Q.el('th', '月'));
  const columns = [...INCOMING_SERIES, ['spent', '広告利用（合計）'], ...outgoing];
  for (const [, name] of columns) headRow.append(Q.el('th', name, 'yen'));
  head.append(headRow);
  for (const r of rows) {
    const row = Q.el('tr');
    row.append(Q.el('th', Q.monthName(r.month) + (r.partial ? '（途中）' : '')));
    for (const [key] of columns) row.append(Q.el('td', Q.yen(r.f[key]), 'yen'));
    body.append(row);
  }
  const quiet = rows.every((r) => inTotal(r.f) === 0 && outTotal(r.f) === 0);
  document.getElementById('chart-empty').classList.toggle('hidden', !quiet);
}

PAGES.index = async () => {
  const parts = [];
  parts.push((async () => {
    const { balance } = await Q.api('/api/v1/balance');
    for (const [id, field] of [['total', 'totalYen'], ['available', 'availableYen'], ['held', 'heldYen']]) {
      document.getElementById(id).textContent = Q.qcash(balance[field]);
    }
    document.getElementById('qmoney').textContent = Q.yen(balance.qmoneyYen);
    document.getElementById('pending').textContent = Q.yen(balance.pendingSettlementYen);
    // 未回収額 (DESIGN.md section 9): what a reversed payment took back after it was spent.
    const debt = BigInt(balance.debtYen || 0);
    document.getElementById('debt').textContent = Q.yen(debt);
    document.getElementById('debt-box').classList.toggle('hidden', debt <= 0n);
  })());
  // The points and the chart come from other services: when one fails, its own part says so
  // and the balance still shows.
  const pointsBox = document.getElementById('points-summary');
  parts.push(Q.api('/api/v1/points/summary').then((summary) => {
    const conv = summary.conversion || {};
    document.getElementById('convertible').textContent = `${Q.number(conv.convertiblePoints)}ポイント`;
    document.getElementById('points-month').textContent = Q.monthName(
      conv.pointsMonth ? `${conv.pointsMonth.year}-${String(conv.pointsMonth.month).padStart(2, '0')}` : '');
    const go = document.getElementById('points-go');
    go.classList.toggle('hidden', BigInt(conv.convertiblePoints || 0) <= 0n);
    Q.say(pointsBox, '');
  }).catch((e) => {
    document.getElementById('convertible').textContent = '—';
    Q.say(pointsBox, e.message);
  }));
  const chartBox = document.getElementById('chart-box');
  parts.push(Q.api('/api/v1/activity').then((data) => {
    drawChart(data.months || []);
    Q.say(chartBox, '');
  }).catch((e) => Q.say(chartBox, e.message)));
  await Promise.all(parts);
};

// ---------------------------------------------------------------- history (詳細)

const pointsMonthName = (ym) => (ym ? `${Q.monthName(ym)}分のサービスポイント` : 'サービスポイント');

// The credits that pay a debt first, as a DEBT_RECOVERY line names them.
const CREDIT_SOURCES = {
  ENTRY_TYPE_CHARGE: 'チャージ',
  ENTRY_TYPE_POINTS_CONVERSION: 'サービスポイント交換',
  ENTRY_TYPE_INTERNAL_FUNDS_CHARGE: '精算金・精算予定金でのチャージ',
};

// What an entry was, in words: the voucher and method of a charge, which internal funds paid,
// the product and booking of an ad entry, the month of a conversion.
function describeEntry(e, credit) {
  const voucher = (yenAmount) => `Qキャッシュ(${BigInt(yenAmount || 0)}Qキャッシュのチャージ)`;
  const product = AD_PRODUCTS[e.product];
  const booking = e.reference ? `（申請番号 ${e.reference}）` : '';
  switch (e.type) {
    case 'ENTRY_TYPE_CHARGE': {
      const method = methodLabel(e.paymentMethod);
      return `${voucher(e.amountYen)}を${method ? `${method}で` : ''}購入`;
    }
    case 'ENTRY_TYPE_INTERNAL_FUNDS_CHARGE': {
      let funds = methodLabel(e.paymentMethod);
      if (!funds && e.origin === 'LOT_ORIGIN_QMONEY') funds = METHOD_LABELS.qmoney;
      if (!funds && e.origin === 'LOT_ORIGIN_PENDING_SETTLEMENT') funds = METHOD_LABELS.pending_settlement;
      if (!funds && e.debitAccount === 'ACCOUNT_SELLER_QMONEY') funds = METHOD_LABELS.qmoney;
      if (!funds && e.debitAccount === 'ACCOUNT_SELLER_PENDING_SETTLEMENT') funds = METHOD_LABELS.pending_settlement;
      return `${voucher(e.amountYen)}を${funds || '精算金・精算予定金'}で購入`;
    }
    case 'ENTRY_TYPE_POINTS_CONVERSION':
      return `${pointsMonthName(e.pointsMonth)}を交換`;
    case 'ENTRY_TYPE_FORFEIT':
      return '退店により、保有していたQキャッシュが失効しました';
    case 'ENTRY_TYPE_CLAWBACK':
      return `決済会社がお支払いを取り消したため、${e.reference ? `注文番号 ${e.reference} の` : ''}` +
        'チャージ分のQキャッシュを残高から回収しました';
    case 'ENTRY_TYPE_DEBT':
      return `${e.reference ? `注文番号 ${e.reference} の` : ''}お支払いの取り消しで、すでに広告に使用されていて` +
        '回収できなかった分が未回収額になりました';
    case 'ENTRY_TYPE_DEBT_RECOVERY': {
      // The credit that paid it is the entry just before (the wallet writes them together).
      const source = credit ? CREDIT_SOURCES[credit.type] : '';
      return `${source ? `${source}で` : ''}追加されたQキャッシュを、未回収額に充当しました`;
    }
    default:
      return product ? `${product}${booking}` : (e.reference ? `申請番号 ${e.reference}` : '');
  }
}

const FUNDS_ACCOUNTS = {
  ACCOUNT_SELLER_QMONEY: ['Qmoney（精算金）', 'qmoneyAfterYen'],
  ACCOUNT_SELLER_PENDING_SETTLEMENT: ['精算予定金', 'pendingSettlementAfterYen'],
};

PAGES.history = async () => {
  const body = document.getElementById('entries');
  const funds = document.getElementById('funds');
  const load = pagedTable(body, async (pageToken, reset) => {
    const from = Q.parseDate(document.getElementById('from').value, '開始日');
    const to = Q.parseDate(document.getElementById('to').value, '終了日');
    if (from && to && from > to) throw new Error('開始日は終了日より前の日付を入力してください。');
    const data = await Q.api('/api/v1/history', {
      query: {
        pageSize: 20, pageToken, types: document.getElementById('type').value,
        from: from ? Q.jstMidnight(from) : '', to: to ? Q.jstMidnight(to, 1) : '',
      },
    });
    if (reset) { body.textContent = ''; funds.textContent = ''; }
    for (const e of data.entries || []) {
      const row = document.createElement('tr');
      if (e.type === 'ENTRY_TYPE_INTERNAL_FUNDS_CREDIT') {
        // Proceeds of sales arriving in Qmoney / 精算予定金: not Qcash, so not in the Qcash lines.
        const [name, after] = FUNDS_ACCOUNTS[e.creditAccount] || ['精算金', 'qmoneyAfterYen'];
        row.append(Q.whenCell(e.createdAt), Q.el('td', `${name}に入金`),
                   Q.el('td', Q.yen(e.amountYen), 'yen'), Q.el('td', Q.yen(e[after]), 'yen'));
        funds.append(row);
        continue;
      }
      const sign = OUTGOING.has(e.type) ? '-' : '';
      const credit = e.type === 'ENTRY_TYPE_DEBT_RECOVERY'
        ? (data.entries || []).find((c) => BigInt(c.seq || 0) === BigInt(e.seq || 0) - 1n) : null;
      const words = Q.el('td', describeEntry(e, credit), 'words');
      const amountCell = Q.el('td', sign + Q.yen(e.amountYen), 'yen');
      if (e.type === 'ENTRY_TYPE_DEBT') amountCell.append(Q.el('span', '（未回収額）', 'sub'));
      // The debt after the line: shown while there is one, and when a line paid it off.
      const debtAfter = BigInt(e.debtAfterYen || 0);
      if (debtAfter > 0n) {
        words.append(Q.el('span', `未回収額（この時点）：${Q.yen(debtAfter)}`, 'sub'));
      } else if (e.type === 'ENTRY_TYPE_DEBT_RECOVERY') {
        words.append(Q.el('span', '未回収額の精算が完了しました', 'sub'));
      }
      if (DEBT_TYPES.has(e.type) || debtAfter > 0n) document.getElementById('debt-notice').classList.remove('hidden');
      row.append(Q.whenCell(e.createdAt), Q.el('td', ENTRY_TYPES[e.type] || '—'),
                 amountCell,
                 Q.el('td', Q.yen(e.availableAfterYen), 'yen optional'),
                 words);
      body.append(row);
    }
    document.getElementById('funds-box').classList.toggle('hidden', funds.children.length === 0);
    return data.nextPageToken;
  });
  await load(true);
};

// ---------------------------------------------------------------- charging

const ORDER_STATES = {
  ORDER_STATE_CREATED: '受付中',
  ORDER_STATE_AWAITING_PAYMENT: 'お支払い待ち',
  ORDER_STATE_PAID: 'お支払い済み（チャージ処理中）',
  ORDER_STATE_CREDITED: 'チャージ完了',
  ORDER_STATE_FAILED: '失敗',
  ORDER_STATE_EXPIRED: '期限切れ',
  ORDER_STATE_CANCELLED: 'キャンセル',
};
const OPEN_STATES = new Set(['ORDER_STATE_CREATED', 'ORDER_STATE_AWAITING_PAYMENT']);
const PAID_STATES = new Set(['ORDER_STATE_PAID', 'ORDER_STATE_CREDITED']);
const INTERNAL_FUNDS = new Set(['PAYMENT_METHOD_QMONEY', 'PAYMENT_METHOD_PENDING_SETTLEMENT']);
const UNAVAILABLE_REASONS = {
  INSUFFICIENT_FUNDS: '残高が足りません',
  QSIGN_PASSWORD_NOT_SET: 'Qサインパスワードが未設定です',
  QSIGN_LOCKED: 'Qサインパスワードの誤入力により一時的に利用できません',
  BALANCE_UNKNOWN: '残高を確認できません',
  PROVIDER_NOT_CONFIGURED: '現在ご利用いただけません',
  DEBT_OUTSTANDING: '未回収額があるため、精算されるまでご利用いただけません',
};
const yenOf = (denomination) => Number(String(denomination).replace('DENOMINATION_', ''));
const voucherName = (order) => `Qキャッシュ(${yenOf(order.denomination)}Qキャッシュのチャージ)`;
const receiptUrl = (order) => `/documents/receipts/${encodeURIComponent(order.orderId)}.pdf`;
const orderPageUrl = (order) => `/charge/order?order_id=${encodeURIComponent(order.orderId)}`;
const RETURN_REFUSED = new Set(['INVALID_RETURN_URL', 'RETURN_URL_NOT_ALLOWED']);

// The counter instructions of an order into the page's <dl id="instructions"> (ins-* ids).
function fillInstructions(order) {
  const ins = (order.nextAction || {}).instructions || {};
  for (const [id, value] of [['ins-institution', ins.institution], ['ins-number', ins.paymentNumber],
                             ['ins-confirmation', ins.confirmationNumber], ['ins-payee', ins.payeeName],
                             ['ins-deadline', Q.jst(ins.payBy || order.deadline)]]) {
    document.getElementById(id).textContent = value || '—';
  }
  const url = Q.safeUrl(ins.url);
  const start = document.getElementById('ins-url');
  if (start) {
    start.classList.toggle('hidden', !url);
    if (url) start.querySelector('a').href = url;
  }
  document.getElementById('instructions').classList.remove('hidden');
  const box = document.getElementById('instructions-box');
  if (box) box.classList.remove('hidden');
}

// The way back to the ad application: only a URL the payment service accepted and returned.
function showReturnLink(url) {
  const row = document.getElementById('return-row');
  if (!row) return;
  const safe = Q.safeUrl(url);
  row.classList.toggle('hidden', !safe);
  if (safe) document.getElementById('return-link').href = safe;
}

function showOrderOutcome(order, area, text) {
  const action = order.nextAction || {};
  const label = `${Q.yen(order.amountYen)}のチャージ券（注文番号 ${order.orderId}）`;
  if (order.state === 'ORDER_STATE_CREDITED') {
    text.textContent = `${label}：チャージが完了しました。${Q.qcash(order.amountYen)}が追加されました。`;
    text.className = 'ok';
  } else if (order.state === 'ORDER_STATE_FAILED') {
    text.textContent = `${label}：決済できませんでした。別の決済方法をお選びいただくか、時間をおいてもう一度お試しください。`;
    text.className = 'error';
  } else if (action.kind === 'KIND_PAY_AT_COUNTER') {
    text.textContent = `${label}：以下の内容でお支払いください。お支払いが確認されるとチャージされます。` +
      'この内容は「チャージ券の購入履歴」からいつでも確認できます。';
    text.className = '';
    fillInstructions(order);
    const again = document.getElementById('order-link');
    if (again) { again.href = orderPageUrl(order); again.classList.remove('hidden'); }
  } else {
    text.textContent = `${label}：${ORDER_STATES[order.state] || 'お手続き中です'}`;
    text.className = '';
  }
  area.classList.remove('hidden');
}

PAGES.charge = async () => {
  const denominations = document.getElementById('denominations');
  const methods = document.getElementById('methods');
  const form = document.getElementById('charge');
  const buyRow = document.getElementById('buy-row');
  const params = new URLSearchParams(location.search);
  // From an ad application (seed 000, ワンポイントアドバイス): ?need=<yen>&return=<url>.
  let need = params.get('need') || '';
  let returnUrl = params.get('return') || '';
  let acceptedReturn = '';  // returnLink.url: the only return address the page ever uses
  let notices = [];
  if (need && !/^[0-9]{1,10}$/.test(need)) {
    notices.push('必要な金額の指定が正しくありません。広告申請画面のチャージボタンから、もう一度お進みください。');
    need = '';
  }
  let key = Q.newKey();  // one order per confirmed form; a double click buys once
  let debt = 0n;  // the seller's 未回収額 as the last options said
  async function fetchOptions(denomination) {
    for (;;) {
      try {
        return await Q.api('/api/v1/charge/options',
                           { query: { denomination, neededYen: need, returnUrl } });
      } catch (e) {
        // A refused return link or amount: say so, and go on charging without it.
        if (RETURN_REFUSED.has(e.reason) && returnUrl) { notices.push(e.message); returnUrl = ''; continue; }
        if (e.reason === 'INVALID_NEEDED_AMOUNT' && need) { notices.push(e.message); need = ''; continue; }
        throw e;
      }
    }
  }
  function showNeed(data) {
    const box = document.getElementById('need');
    // The payment service echoes the need and works out the shortfall; the page's own sum is
    // the same figure (the gateway writes zeros, so 0 means "not echoed").
    const echoed = BigInt(data.neededYen || 0);
    const needed = echoed > 0n ? echoed : BigInt(need || 0);
    if (needed <= 0n) { box.classList.add('hidden'); return; }
    const available = BigInt(data.qcashAvailableYen || 0);
    const shortfall = echoed > 0n ? BigInt(data.shortfallYen || 0)
      : (needed > available ? needed - available : 0n);
    document.getElementById('need-yen').textContent = Q.qcash(needed);
    document.getElementById('need-current').textContent = Q.qcash(available);
    document.getElementById('need-shortfall').textContent = Q.qcash(shortfall);
    document.getElementById('need-text').textContent = shortfall > 0n
      ? `広告の申請には、あと ${Q.qcash(shortfall)} 必要です。不足分をまかなえるチャージ券を選んでいます。`
      : '広告の申請に必要なQキャッシュがあります。広告申請画面に戻って、申請を続けてください。';
    box.classList.remove('hidden');
  }
  async function loadOptions(denomination) {
    const data = await fetchOptions(denomination);
    acceptedReturn = Q.safeUrl((data.returnLink || {}).url);
    document.getElementById('current').textContent = Q.qcash(data.qcashAvailableYen);
    debt = BigInt(data.debtYen || 0);
    document.getElementById('debt-yen').textContent = Q.yen(debt);
    document.getElementById('debt-note').classList.toggle('hidden', debt <= 0n);
    showNeed(data);
    document.getElementById('need-return').classList.toggle('hidden', !acceptedReturn);
    if (acceptedReturn) document.getElementById('need-return-link').href = acceptedReturn;
    if (!denominations.children.length) {
      for (const d of data.denominations) {
        const row = document.createElement('tr');
        const cell = document.createElement('td');
        const radio = document.createElement('input');
        Object.assign(radio, { type: 'radio', name: 'denomination', value: d.denomination, required: true });
        radio.id = `d-${yenOf(d.denomination)}`;
        radio.addEventListener('change', () =>
          loadOptions(d.denomination).then(() => Q.say(form, '')).catch((e) => Q.say(form, e.message)));
        cell.append(radio);
        const label = Q.el('label', d.label);
        label.htmlFor = radio.id;
        const labelCell = document.createElement('td');
        labelCell.append(label);
        row.append(cell, labelCell, Q.el('td', Q.yen(d.priceYen), 'yen'));
        denominations.append(row);
      }
    }
    const chosen = (document.querySelector('input[name=method]:checked') || {}).value;
    methods.textContent = '';
    for (const m of data.methods) {
      const label = document.createElement('label');
      const radio = document.createElement('input');
      Object.assign(radio, { type: 'radio', name: 'method', value: m.method, required: true,
                             disabled: !m.available, checked: m.available && m.method === chosen });
      radio.id = `m-${m.method}`;
      radio.addEventListener('change', showFields);
      label.append(radio, document.createTextNode(m.label));
      if (INTERNAL_FUNDS.has(m.method)) {
        label.append(document.createTextNode(`（残高 ${Q.yen(m.fundsBalanceYen)}）`));
      }
      if (!m.available) {
        label.className = 'unavailable';
        label.append(document.createTextNode(`：${UNAVAILABLE_REASONS[m.unavailableReason] || 'ご利用いただけません'}`));
      }
      methods.append(label);
    }
    showFields();
    const notice = document.getElementById('charge-notice');
    notice.textContent = notices.join(' ');
    notice.classList.toggle('hidden', notices.length === 0);
    return data;
  }
  function showFields() {
    const method = (document.querySelector('input[name=method]:checked') || {}).value;
    document.getElementById('card-fields').classList.toggle('hidden', method !== 'PAYMENT_METHOD_CARD');
    document.getElementById('qsign-fields').classList.toggle('hidden', !INTERNAL_FUNDS.has(method));
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const denominationInput = document.querySelector('input[name=denomination]:checked');
    const methodInput = document.querySelector('input[name=method]:checked');
    if (!denominationInput || !methodInput) {
      Q.say(buyRow, 'チャージ金額と決済方法を選んでください。');
      return;
    }
    const denomination = denominationInput.value;
    const method = methodInput.value;
    const body = { denomination, method };
    if (acceptedReturn) body.returnUrl = acceptedReturn;
    if (method === 'PAYMENT_METHOD_CARD') body.paymentToken = document.getElementById('card-token').value;
    if (INTERNAL_FUNDS.has(method)) body.qsignPassword = document.getElementById('qsign-password').value;
    const button = document.getElementById('buy');
    button.disabled = true;
    // The previous order's outcome goes: what shows is about this order.
    for (const id of ['result', 'instructions', 'return-row', 'order-link']) {
      document.getElementById(id).classList.add('hidden');
    }
    document.getElementById('balance-after').textContent = '';
    try {
      const { order } = await Q.api('/api/v1/charge/orders', { method: 'POST', key, body });
      key = Q.newKey();
      Q.say(buyRow, '');
      if ((order.nextAction || {}).kind === 'KIND_REDIRECT') {
        location.href = order.nextAction.redirectUrl;  // the provider's page, then /charge/done
        return;
      }
      document.getElementById('qsign-password').value = '';
      showOrderOutcome(order, document.getElementById('result'), document.getElementById('result-text'));
      const debtBefore = debt;
      const after = await loadOptions(denomination);
      if (order.state === 'ORDER_STATE_CREDITED') {
        const recovered = debtBefore > debt ? debtBefore - debt : 0n;
        document.getElementById('balance-after').textContent =
          (recovered > 0n ? `このチャージのうち ${Q.qcash(recovered)} は未回収額に充当されました。` : '') +
          `チャージ後のQキャッシュ残高：${Q.qcash(after.qcashAvailableYen)}`;
        showReturnLink(order.returnUrl || acceptedReturn);
      }
      Q.headerBalance();
      document.getElementById('result').scrollIntoView();
    } catch (e) {
      Q.say(buyRow, e.message);
      if (e.status !== 503) {
        key = Q.newKey();  // refused: a new attempt is a new order
        // What is available may have changed (a lock after wrong passwords): show it.
        await loadOptions(denomination).catch(() => {});
      }
    } finally {
      button.disabled = false;
    }
  });
  const qsignForm = document.getElementById('qsign-form');
  qsignForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await Q.api('/api/v1/qsign-password', {
        method: 'PUT',
        body: { currentPassword: document.getElementById('qsign-current').value,
                newPassword: document.getElementById('qsign-new').value },
      });
      document.getElementById('qsign-current').value = '';
      document.getElementById('qsign-new').value = '';
      document.getElementById('qsign-done').classList.remove('hidden');
      Q.say(qsignForm, '');
      const chosen = document.querySelector('input[name=denomination]:checked');
      await loadOptions(chosen ? chosen.value : '');
    } catch (e) {
      document.getElementById('qsign-done').classList.add('hidden');
      Q.say(qsignForm, e.message);
    }
  });
  const first = await loadOptions('');
  const suggested = first.suggestedDenomination;
  if (suggested && suggested !== 'DENOMINATION_UNSPECIFIED') {
    const radio = document.getElementById(`d-${yenOf(suggested)}`);
    if (radio) {
      radio.checked = true;
      await loadOptions(suggested);
    }
  }
};

PAGES.charge_done = async () => {
  const orderId = new URLSearchParams(location.search).get('order_id') || '';
  const status = document.getElementById('status');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(orderId)) {
    status.textContent = '注文が見つかりません。チャージ券の購入履歴からご確認ください。';
    return;
  }
  let { order } = await Q.api(`/api/v1/charge/orders/${orderId}/complete`, { method: 'POST' });
  for (let i = 0; i < 30 && ['ORDER_STATE_PAID', 'ORDER_STATE_CREATED'].includes(order.state); ++i) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    ({ order } = await Q.api(`/api/v1/charge/orders/${orderId}`));
  }
  const label = `${Q.yen(order.amountYen)}のチャージ券`;
  const messages = {
    ORDER_STATE_CREDITED: `${label}：チャージが完了しました。${Q.qcash(order.amountYen)}が追加されました。`,
    ORDER_STATE_FAILED: `${label}：決済できませんでした。別の決済方法でもう一度お試しください。`,
    ORDER_STATE_AWAITING_PAYMENT: `${label}：まだお支払いが確認できていません。お支払い後、チャージ券の購入履歴でご確認ください。`,
    ORDER_STATE_PAID: `${label}：お支払いを確認しました。チャージ処理中です。しばらくしてから残高をご確認ください。`,
  };
  status.textContent = messages[order.state] || `${label}：${ORDER_STATES[order.state] || 'お手続き中です'}`;
  status.className = order.state === 'ORDER_STATE_CREDITED' ? 'ok' : '';
  document.getElementById('detail').textContent = `注文番号 ${order.orderId}`;
  if (order.state === 'ORDER_STATE_CREDITED') {
    const { balance } = await Q.api('/api/v1/balance');
    // A debt left by a reversed payment is paid first by this charge: what remains is said.
    const debt = BigInt(balance.debtYen || 0);
    document.getElementById('balance-after').textContent =
      `現在のQキャッシュ残高：${Q.qcash(balance.availableYen)}` +
      (debt > 0n ? `（未回収額 ${Q.yen(debt)} が残っています。詳しくは残高のページをご覧ください）` : '');
    showReturnLink(order.returnUrl);
    Q.headerBalance();
  }
};

// The purchase history: pending counter orders say how to pay them, paid ones have a receipt.
PAGES.vouchers = async () => {
  const body = document.getElementById('orders');
  const load = pagedTable(body, async (pageToken, reset) => {
    const data = await Q.api('/api/v1/charge/orders', { query: { pageSize: 20, pageToken } });
    if (reset) body.textContent = '';
    for (const order of data.orders || []) {
      const row = document.createElement('tr');
      const state = Q.el('td', undefined, 'state');
      state.append(Q.el('span', ORDER_STATES[order.state] || '—'));
      const ins = (order.nextAction || {}).instructions;
      const awaiting = OPEN_STATES.has(order.state) && (order.nextAction || {}).kind === 'KIND_PAY_AT_COUNTER';
      if (awaiting && ins) {
        state.append(Q.el('span', `お支払い番号 ${ins.paymentNumber || '—'}`, 'sub'),
                     Q.el('span', `お支払い期限 ${Q.time(ins.payBy || order.deadline)}`, 'sub'));
      }
      if (reversed(order)) {
        state.append(Q.el('span', `取り消し額 ${reversalText(order)}`, 'sub'));
      }
      row.append(Q.whenCell(order.createdAt), Q.el('td', voucherName(order)),
                 Q.el('td', methodLabel(order.method) || '—', 'optional'),
                 Q.el('td', Q.yen(order.amountYen), 'yen'), state);
      const actions = Q.el('td', undefined, 'actions');
      if (awaiting) actions.append(Q.link(orderPageUrl(order), 'お支払い方法'));
      if (reversed(order)) actions.append(Q.link(orderPageUrl(order), '取り消しの内容'));
      if (PAID_STATES.has(order.state)) {
        const receipt = Q.link(receiptUrl(order), '領収書（PDF）');
        receipt.setAttribute('download', `領収書_${order.orderId}.pdf`);
        actions.append(receipt);
      }
      if (OPEN_STATES.has(order.state)) {
        const cancel = Q.el('button', 'キャンセル', 'secondary');
        cancel.type = 'button';
        cancel.id = `cancel-${order.orderId}`;
        const key = Q.newKey();
        cancel.addEventListener('click', async () => {
          try {
            await Q.api(`/api/v1/charge/orders/${order.orderId}/cancel`, { method: 'POST', key });
            await load(true);
          } catch (e) {
            Q.say(cancel, e.message);
          }
        });
        actions.append(cancel);
      }
      row.append(actions);
      body.append(row);
    }
    return data.nextPageToken;
  });
  await load(true);
};

// What the payment company took back of an order: the total and each reversal with its kind,
// what left the balance and what became 未回収額.
function showReversals(order) {
  const box = document.getElementById('reversal-box');
  box.classList.toggle('hidden', !reversed(order));
  if (!reversed(order)) return;
  document.getElementById('o-reversed').textContent = reversalText(order);
  const body = document.getElementById('reversals');
  body.textContent = '';
  for (const r of order.reversals || []) {
    const row = Q.el('tr');
    const kind = Q.el('td', REVERSAL_KINDS[r.kind] || 'お支払いの取り消し');
    kind.append(Q.el('span', REVERSAL_STATES[r.state] || '', 'sub'));
    row.append(Q.whenCell(r.reversedAt || r.receivedAt), kind, Q.el('td', Q.yen(r.amountYen), 'yen'),
               Q.el('td', Q.yen(r.clawedBackYen), 'yen optional'), Q.el('td', Q.yen(r.debtYen), 'yen'));
    body.append(row);
  }
}

// One order, found again from the purchase history: how to pay it, or its receipt.
PAGES.order = async () => {
  const orderId = new URLSearchParams(location.search).get('order_id') || '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(orderId)) {
    throw new Error('注文が見つかりません。チャージ券の購入履歴からお進みください。');
  }
  const cancelRow = document.getElementById('cancel-row');
  async function show() {
    const { order } = await Q.api(`/api/v1/charge/orders/${orderId}`);
    document.getElementById('o-id').textContent = order.orderId;
    document.getElementById('o-voucher').textContent = voucherName(order);
    document.getElementById('o-price').textContent = Q.yen(order.amountYen);
    document.getElementById('o-method').textContent = methodLabel(order.method) || '—';
    document.getElementById('o-state').textContent = ORDER_STATES[order.state] || '—';
    document.getElementById('o-created').textContent = Q.jst(order.createdAt);
    const awaiting = OPEN_STATES.has(order.state);
    document.getElementById('o-text').textContent = awaiting
      ? '以下の内容でお支払いください。お支払いが確認されると、Qキャッシュがチャージされます。期限を過ぎると注文は無効になります。'
      : (order.state === 'ORDER_STATE_CREDITED' ? 'この注文のチャージは完了しています。' : '');
    showReversals(order);
    if (awaiting && (order.nextAction || {}).kind === 'KIND_PAY_AT_COUNTER') fillInstructions(order);
    else document.getElementById('instructions-box').classList.add('hidden');
    cancelRow.classList.toggle('hidden', !awaiting);
    const receipt = document.getElementById('receipt-row');
    receipt.classList.toggle('hidden', !PAID_STATES.has(order.state));
    if (PAID_STATES.has(order.state)) {
      const a = document.getElementById('receipt-link');
      a.href = receiptUrl(order);
      a.setAttribute('download', `領収書_${order.orderId}.pdf`);
    }
  }
  await show();
  const key = Q.newKey();
  document.getElementById('cancel').addEventListener('click', async () => {
    try {
      await Q.api(`/api/v1/charge/orders/${orderId}/cancel`, { method: 'POST', key });
      Q.say(cancelRow, '');
      await show();
      document.getElementById('o-text').textContent = 'ご注文をキャンセルしました。';
    } catch (e) {
      Q.say(cancelRow, e.message);
    }
  });
};

// ---------------------------------------------------------------- statements (利用明細・請求書)

PAGES.statements = async () => {
  const form = document.getElementById('filters');
  const input = document.getElementById('month');
  const body = document.getElementById('lines');
  const requested = new URLSearchParams(location.search).get('month') || '';
  input.value = Q.slashed(/^\d{4}-\d{2}$/.test(requested) ? requested : Q.thisMonth());
  const load = pagedTable(body, async (pageToken, reset) => {
    const month = Q.parseMonth(input.value, '対象月');
    if (!month) throw new Error('対象月を「yyyy/mm」の形で入力してください（例：2026/11）。');
    const data = await Q.api(`/api/v1/statements/${month}`, { query: { pageSize: 100, pageToken } });
    if (reset) {
      body.textContent = '';
      document.getElementById('statement-title').textContent = `${Q.monthName(month)}の利用明細`;
      const day = (rfc3339) => Q.time(rfc3339).split(' ')[0];
      const lastSecond = data.periodEnd ? new Date(Date.parse(data.periodEnd) - 1000).toISOString() : '';
      document.getElementById('period').textContent =
        `対象期間：${day(data.periodStart)} 〜 ${day(lastSecond)}（日本時間）`;
      document.getElementById('preliminary').classList.toggle('hidden', !!data.closed);
      document.getElementById('st-count').textContent = `${Q.number(data.lineCount)}件`;
      document.getElementById('st-total').textContent = Q.yen(data.totalYen);
      document.getElementById('st-free').textContent = Q.yen(data.freeYen);
      document.getElementById('st-taxable').textContent = Q.yen(data.taxableYen);
      document.getElementById('st-tax').textContent = Q.yen(data.taxYen);
      document.getElementById('st-rate').textContent = String(data.taxRatePercent || 10);
      document.getElementById('pdf').href = `/documents/statements/${month}.pdf`;
      // A month still open is a preliminary 明細書, no qualified invoice yet (docs/INVOICES.md).
      document.getElementById('pdf').textContent = data.closed ? '請求書（PDF）' : '明細書（PDF・速報）';
      document.getElementById('csv').href = `/documents/statements/${month}.csv`;
      const products = document.getElementById('product-totals');
      products.textContent = '';
      for (const p of data.products || []) {
        const row = Q.el('tr');
        row.append(Q.el('td', AD_PRODUCTS[p.product] || '—'), Q.el('td', Q.number(p.lines), 'yen optional'),
                   Q.el('td', Q.yen(p.amountYen), 'yen'), Q.el('td', Q.yen(p.freeYen), 'yen'));
        products.append(row);
      }
      document.getElementById('statement').classList.remove('hidden');
      history.replaceState(null, '', `/statements?month=${month}`);
    }
    for (const line of data.lines || []) {
      const row = Q.el('tr');
      const product = Q.el('td', AD_PRODUCTS[line.product] || '—');
      product.append(Q.el('span', `申請番号 ${line.reference || '—'}`, 'sub'));
      row.append(Q.whenCell(line.createdAt),
                 Q.el('td', ENTRY_TYPES[line.type] || '—', 'optional'),
                 product,
                 Q.el('td', Q.yen(line.amountYen), 'yen'),
                 Q.el('td', Q.yen(line.freeYen), 'yen optional'));
      body.append(row);
    }
    return data.nextPageToken;
  }, { filters: form });
  // 前月 / 翌月: the month next to the one typed (or this month), shown at once.
  for (const [id, step] of [['prev-month', -1], ['next-month', 1]]) {
    document.getElementById(id).addEventListener('click', () => {
      let month;
      try {
        month = Q.parseMonth(input.value, '対象月') || Q.thisMonth();
      } catch (e) {
        month = Q.thisMonth();
      }
      const d = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 1 + step, 1));
      input.value = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
      form.requestSubmit();
    });
  }
  await load(true);
};

// ---------------------------------------------------------------- service points

const pointsFormat = new Intl.NumberFormat('ja-JP');
const pts = (value) => pointsFormat.format(BigInt(value || 0)) + 'ポイント';
const monthLabel = (m) => (m && m.year ? `${m.year}年${m.month}月` : '');

const CONVERSION_STATES = {
  CONVERSION_STATE_CONVERTIBLE: '先月のサービスポイントをQキャッシュに交換できます。',
  CONVERSION_STATE_BELOW_MINIMUM: '先月のサービスポイントが100ポイント未満のため、交換できません。',
  CONVERSION_STATE_CONVERTED: '先月のサービスポイントは交換済みです。',
  CONVERSION_STATE_IN_PROGRESS: '交換の処理中です。しばらくしてからご確認ください。',
  CONVERSION_STATE_LAPSED: '交換期間が終了しました。',
};

PAGES.points = async () => {
  let summary;
  async function load() {
    summary = await Q.api('/api/v1/points/summary');
    const conv = summary.conversion || {};
    const last = conv.previousMonthPoints || {};
    const now = summary.points || {};
    document.getElementById('this-month').textContent = monthLabel(summary.month);
    document.getElementById('last-month').textContent = monthLabel(conv.pointsMonth);
    document.getElementById('this-total').textContent = pts(now.totalPoints);
    document.getElementById('last-total').textContent = pts(last.totalPoints);
    document.getElementById('convertible').textContent = pts(conv.convertiblePoints);
    for (const [id, field] of [['shipping', 'shippingPoints'], ['claim', 'claimPoints'], ['review', 'reviewPoints']]) {
      document.getElementById(`this-${id}`).textContent = pts(now[field]);
      document.getElementById(`last-${id}`).textContent = pts(last[field]);
    }
    document.getElementById('conversion-state').textContent = CONVERSION_STATES[conv.state] || '';
    document.getElementById('convert').disabled = BigInt(conv.convertiblePoints || 0) <= 0n;
  }
  await load();
  const dialog = document.getElementById('confirm');
  const convertRow = document.getElementById('convert-row');
  let key = '';
  document.getElementById('convert').addEventListener('click', () => {
    const conv = summary.conversion;
    const total = BigInt(conv.previousMonthPoints.totalPoints || 0);
    const convertible = BigInt(conv.convertiblePoints || 0);
    document.getElementById('confirm-text').textContent =
      `${monthLabel(conv.pointsMonth)}のサービスポイント ${pts(total)} のうち、` +
      `${pts(convertible)} を ${Q.qcash(convertible)} に交換します。`;
    document.getElementById('confirm-leftover').textContent =
      `端数の ${pts(total - convertible)} は100ポイント未満のため交換されず、失効します。`;
    key = Q.newKey();  // one key per confirmation: a double click converts once
    dialog.showModal();
  });
  document.getElementById('confirm-no').addEventListener('click', () => dialog.close());
  // The balance page's GO (seed 004: 【本月可以转换的积分】 → GO) opens the confirmation at once.
  if (new URLSearchParams(location.search).get('convert') === '1' &&
      !document.getElementById('convert').disabled) {
    document.getElementById('convert').click();
  }
  document.getElementById('confirm-yes').addEventListener('click', async () => {
    dialog.close();
    try {
      // The seller's 未回収額 before and after: a conversion pays it first (DESIGN.md section 9).
      const debtNow = async () => BigInt((await Q.api('/api/v1/balance')).balance.debtYen || 0);
      const debtBefore = await debtNow().catch(() => 0n);
      const result = await Q.api('/api/v1/points/conversions', {
        method: 'POST', key, body: { pointsMonth: summary.conversion.pointsMonth },
      });
      const debtAfter = debtBefore > 0n ? await debtNow().catch(() => debtBefore) : 0n;
      const done = document.getElementById('converted');
      done.textContent = `交換が完了しました。${Q.qcash(result.conversion.convertedPoints)} がチャージされました。` +
        (debtBefore > debtAfter ? `うち ${Q.qcash(debtBefore - debtAfter)} は未回収額に充当されました。` : '');
      done.classList.remove('hidden');
      Q.say(convertRow, '');
      Q.headerBalance();
      await load();
    } catch (e) {
      Q.say(convertRow, e.message);
    }
  });
};

function productRow(product, withDetail) {
  const row = document.createElement('tr');
  const p = product.points || {};
  row.append(Q.el('td', product.productNo), Q.el('td', product.productName),
             Q.el('td', product.category, 'optional'), Q.el('td', pts(p.shippingPoints), 'yen'),
             Q.el('td', pts(p.claimPoints), 'yen optional'),
             Q.el('td', pts(p.reviewPoints), 'yen optional'), Q.el('td', pts(p.totalPoints), 'yen'));
  if (withDetail) {
    const cell = document.createElement('td');
    const button = Q.el('button', '詳細', 'secondary');
    button.type = 'button';
    button.addEventListener('click', () => withDetail(product));
    cell.append(button);
    row.append(cell);
  }
  return row;
}

// Query fields of a period and a product filter, from the form's inputs (dates yyyy/mm/dd,
// months yyyy/mm; a wrong one throws a Japanese message for the form).
function periodAndFilter() {
  const query = {};
  const value = (id) => (document.getElementById(id) || {}).value || '';
  const month = Q.parseMonth(value('month'), '月');
  const from = Q.parseDate(value('from'), '開始日');
  const to = Q.parseDate(value('to'), '終了日');
  if (Boolean(from) !== Boolean(to)) throw new Error('開始日と終了日の両方を入力してください。');
  if (from && from > to) throw new Error('開始日は終了日より前の日付を入力してください。');
  if (from && to) {
    const [fy, fm, fd] = from.split('-');
    const [ty, tm, td] = to.split('-');
    Object.assign(query, {
      'period.dates.from.year': fy, 'period.dates.from.month': +fm, 'period.dates.from.day': +fd,
      'period.dates.to.year': ty, 'period.dates.to.month': +tm, 'period.dates.to.day': +td,
    });
  } else if (month) {
    const [y, m] = month.split('-');
    Object.assign(query, { 'period.month.year': y, 'period.month.month': +m });
  }
  if (value('category')) query['filter.category'] = value('category');
  if (value('product-no')) query['filter.productNo'] = value('product-no');
  if (value('product-name')) query['filter.productNameContains'] = value('product-name');
  return query;
}

const SALE_TYPES = { SALE_TYPE_GENERAL: '一般商品', SALE_TYPE_RESERVATION: '予約商品' };
const dateLabel = (d) => `${d.year}/${String(d.month).padStart(2, '0')}/${String(d.day).padStart(2, '0')}`;

PAGES.products = async () => {
  const body = document.getElementById('products');
  async function showDetail(product) {
    const query = periodAndFilter();
    for (const k of Object.keys(query)) if (k.startsWith('filter.')) delete query[k];
    const detail = await Q.api(`/api/v1/points/products/${encodeURIComponent(product.productNo)}/shipping`, { query });
    document.getElementById('detail-product').textContent = `${product.productNo} ${product.productName}`;
    const lists = document.getElementById('detail-lists');
    lists.textContent = '';
    for (const list of detail.details || []) {
      lists.append(Q.el('h3', `${SALE_TYPES[list.saleType] || list.saleType}：${pts(list.shippingPoints)}`));
      const table = document.createElement('table');
      const head = document.createElement('tr');
      head.append(Q.el('th', '日付'), Q.el('th', '配送ポイント', 'yen'), Q.el('th', '件数', 'yen'));
      table.append(head);
      for (const day of list.days || []) {
        const row = document.createElement('tr');
        row.append(Q.el('td', dateLabel(day.date)), Q.el('td', pts(day.shippingPoints), 'yen'),
                   Q.el('td', String(day.events || 0), 'yen'));
        table.append(row);
      }
      lists.append(table);
    }
    document.getElementById('detail').classList.remove('hidden');
  }
  const detailError = document.getElementById('products-box');  // a 詳細 that failed: under the list
  const load = pagedTable(body, async (pageToken, reset) => {
    const data = await Q.api('/api/v1/points/products', { query: { ...periodAndFilter(), pageSize: 50, pageToken } });
    if (reset) { body.textContent = ''; document.getElementById('detail').classList.add('hidden'); }
    document.getElementById('period').textContent = data.from ? `期間：${dateLabel(data.from)}〜${dateLabel(data.to)}` : '';
    for (const product of data.products || []) {
      body.append(productRow(product, (p) => showDetail(p).then(() => Q.say(detailError, ''))
        .catch((e) => Q.say(detailError, e.message))));
    }
    return data.nextPageToken;
  });
  await load(true);
};

PAGES.past = async () => {
  const body = document.getElementById('products');
  const form = document.getElementById('filters');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const query = periodAndFilter();
      if (!query['period.dates.from.year']) throw new Error('開始日と終了日を yyyy/mm/dd の形で入力してください。');
      const last = '2019-06-30';
      const to = `${query['period.dates.to.year']}-${String(query['period.dates.to.month']).padStart(2, '0')}-` +
        String(query['period.dates.to.day']).padStart(2, '0');
      if (to > last) {
        throw new Error('過去のサービスポイントは2019/06/30までの日付で検索できます。' +
                        '2019年7月1日以降は商品別のサービスポイントをご覧ください。');
      }
      const data = await Q.api('/api/v1/points/past', { query: { ...query, pageSize: 100 } });
      body.textContent = '';
      for (const product of data.products || []) body.append(productRow(product, null));
      document.getElementById('empty').classList.toggle('hidden', body.children.length > 0);
      Q.say(form, '');
    } catch (e) {
      Q.say(form, e.message);
    }
  });
};

document.addEventListener('DOMContentLoaded', () => {
  Q.headerBalance();
  const page = PAGES[document.body.dataset.page];
  if (page) page().catch((e) => Q.showError(e.message));
});
