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
  function yen(value) { return yenFormat.format(BigInt(value || 0)) + '円'; }
  function qcash(value) { return yenFormat.format(BigInt(value || 0)) + ' Qキャッシュ'; }
  function time(rfc3339) { return rfc3339 ? timeFormat.format(new Date(rfc3339)) : ''; }

  // `YYYY-MM-DD` of a date input, as the RFC 3339 instant of 00:00 that day in Japan time.
  function jstMidnight(date, plusDays = 0) {
    const d = new Date(date + 'T00:00:00+09:00');
    d.setUTCDate(d.getUTCDate() + plusDays);
    return d.toISOString();
  }

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function showError(message) {
    const box = document.getElementById('error');
    if (!box) return;
    box.textContent = message;
    box.classList.toggle('hidden', !message);
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

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
    const response = await fetch(url, {
      method, headers, credentials: 'same-origin',
      body: method === 'GET' ? undefined : JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) {
      location.href = '/dev/login';
      throw new Error('ログインしてください。');
    }
    if (!response.ok) {
      // The gateway's error body (gateway/errors.h): `message` is Japanese text for sellers, the
      // ErrorInfo carries the reason and the request id that support looks up.
      const info = (data.details || []).find((d) => d && d.reason) || {};
      const requestId = (info.metadata || {}).requestId || response.headers.get('X-Request-Id') || '';
      let text = data.message || `エラーが発生しました（${response.status}）`;
      if (requestId) text += `（お問い合わせ番号：${requestId}）`;
      const error = new Error(text);
      error.reason = info.reason || '';
      error.requestId = requestId;
      error.status = response.status;
      throw error;
    }
    return data;
  }

  return { api, yen, qcash, time, jstMidnight, el, showError, newKey };
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
};

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

// Movements that take Qcash away from "available" are shown as negative amounts.
const OUTGOING = new Set(['ENTRY_TYPE_AD_SPEND', 'ENTRY_TYPE_AD_HOLD', 'ENTRY_TYPE_FORFEIT']);

const PAGES = {};

// A table filled a page at a time (history, charge vouchers, products): fetchPage(pageToken)
// appends one page's rows to `body` and returns the next page's token. The page's "more"
// button fetches the next page, its "filters" form (if it has one) starts over, and "empty"
// shows when there are no rows. Returns load: load(true) starts over, load(false) goes on.
function pagedTable(body, fetchPage) {
  const more = document.getElementById('more');
  let pageToken = '';
  async function load(reset) {
    if (reset) { body.textContent = ''; pageToken = ''; }
    pageToken = await fetchPage(pageToken);
    more.classList.toggle('hidden', !pageToken);
    document.getElementById('empty').classList.toggle('hidden', body.children.length > 0);
  }
  const filters = document.getElementById('filters');
  if (filters) {
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      load(true).catch((e) => Q.showError(e.message));
    });
  }
  more.addEventListener('click', () => load(false).catch((e) => Q.showError(e.message)));
  return load;
}

PAGES.index = async () => {
  const { balance } = await Q.api('/api/v1/balance');
  for (const [id, field] of [['total', 'totalYen'], ['available', 'availableYen'], ['held', 'heldYen']]) {
    document.getElementById(id).textContent = Q.qcash(balance[field]);
  }
  document.getElementById('qmoney').textContent = Q.yen(balance.qmoneyYen);
  document.getElementById('pending').textContent = Q.yen(balance.pendingSettlementYen);
};

PAGES.history = async () => {
  const body = document.getElementById('entries');
  const load = pagedTable(body, async (pageToken) => {
    const from = document.getElementById('from').value;
    const to = document.getElementById('to').value;
    const data = await Q.api('/api/v1/history', {
      query: {
        pageSize: 20, pageToken, types: document.getElementById('type').value,
        from: from ? Q.jstMidnight(from) : '', to: to ? Q.jstMidnight(to, 1) : '',
      },
    });
    for (const e of data.entries) {
      const row = document.createElement('tr');
      const sign = OUTGOING.has(e.type) ? '-' : '';
      row.append(Q.el('td', Q.time(e.createdAt)), Q.el('td', ENTRY_TYPES[e.type] || e.type),
                 Q.el('td', sign + Q.yen(e.amountYen), 'yen'),
                 Q.el('td', Q.yen(e.availableAfterYen), 'yen'),
                 Q.el('td', [AD_PRODUCTS[e.product], e.reference].filter(Boolean).join(' / '), 'optional'));
      body.append(row);
    }
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
const INTERNAL_FUNDS = new Set(['PAYMENT_METHOD_QMONEY', 'PAYMENT_METHOD_PENDING_SETTLEMENT']);
const UNAVAILABLE_REASONS = {
  INSUFFICIENT_FUNDS: '残高が足りません',
  QSIGN_PASSWORD_NOT_SET: 'Qサインパスワードが未設定です',
  QSIGN_LOCKED: 'Qサインパスワードの誤入力により一時的に利用できません',
  BALANCE_UNKNOWN: '残高を確認できません',
  PROVIDER_NOT_CONFIGURED: '現在ご利用いただけません',
};
const yenOf = (denomination) => Number(String(denomination).replace('DENOMINATION_', ''));

function showOrderOutcome(order, area, text) {
  const action = order.nextAction || {};
  const label = `${Q.yen(order.amountYen)}のチャージ券（${order.orderId}）`;
  if (order.state === 'ORDER_STATE_CREDITED') {
    text.textContent = `${label}：チャージが完了しました。${Q.qcash(order.amountYen)}が追加されました。`;
  } else if (order.state === 'ORDER_STATE_FAILED') {
    text.textContent = `${label}：決済できませんでした（${order.failureReason || '不明'}）。`;
  } else if (action.kind === 'KIND_PAY_AT_COUNTER') {
    text.textContent = `${label}：以下の内容でお支払いください。お支払いが確認されるとチャージされます。`;
    const ins = action.instructions || {};
    for (const [id, value] of [['ins-institution', ins.institution], ['ins-number', ins.paymentNumber],
                               ['ins-confirmation', ins.confirmationNumber], ['ins-payee', ins.payeeName],
                               ['ins-deadline', Q.time(ins.payBy || order.deadline)]]) {
      document.getElementById(id).textContent = value || '—';
    }
    document.getElementById('instructions').classList.remove('hidden');
  } else {
    text.textContent = `${label}：${ORDER_STATES[order.state] || order.state}`;
  }
  area.classList.remove('hidden');
}

PAGES.charge = async () => {
  const denominations = document.getElementById('denominations');
  const methods = document.getElementById('methods');
  let key = Q.newKey();  // one order per confirmed form; a double click buys once
  async function loadOptions(denomination) {
    const data = await Q.api('/api/v1/charge/options', { query: { denomination } });
    document.getElementById('current').textContent = Q.qcash(data.qcashAvailableYen);
    if (!denominations.children.length) {
      for (const d of data.denominations) {
        const row = document.createElement('tr');
        const cell = document.createElement('td');
        const radio = document.createElement('input');
        Object.assign(radio, { type: 'radio', name: 'denomination', value: d.denomination, required: true });
        radio.id = `d-${yenOf(d.denomination)}`;
        radio.addEventListener('change', () => loadOptions(d.denomination).catch((e) => Q.showError(e.message)));
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
        label.append(document.createTextNode(`：${UNAVAILABLE_REASONS[m.unavailableReason] || m.unavailableReason}`));
      }
      methods.append(label);
    }
    showFields();
  }
  function showFields() {
    const method = (document.querySelector('input[name=method]:checked') || {}).value;
    document.getElementById('card-fields').classList.toggle('hidden', method !== 'PAYMENT_METHOD_CARD');
    document.getElementById('qsign-fields').classList.toggle('hidden', !INTERNAL_FUNDS.has(method));
  }
  document.getElementById('charge').addEventListener('submit', async (event) => {
    event.preventDefault();
    const denomination = document.querySelector('input[name=denomination]:checked').value;
    const method = document.querySelector('input[name=method]:checked').value;
    const body = { denomination, method };
    if (method === 'PAYMENT_METHOD_CARD') body.paymentToken = document.getElementById('card-token').value;
    if (INTERNAL_FUNDS.has(method)) body.qsignPassword = document.getElementById('qsign-password').value;
    const button = document.getElementById('buy');
    button.disabled = true;
    try {
      const { order } = await Q.api('/api/v1/charge/orders', { method: 'POST', key, body });
      key = Q.newKey();
      Q.showError('');
      if ((order.nextAction || {}).kind === 'KIND_REDIRECT') {
        location.href = order.nextAction.redirectUrl;  // the provider's page, then /charge/done
        return;
      }
      showOrderOutcome(order, document.getElementById('result'), document.getElementById('result-text'));
      await loadOptions(denomination);
    } catch (e) {
      Q.showError(e.message);
      if (e.status !== 503) key = Q.newKey();  // refused: a new attempt is a new order
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById('qsign-form').addEventListener('submit', async (event) => {
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
      Q.showError('');
      const chosen = document.querySelector('input[name=denomination]:checked');
      await loadOptions(chosen ? chosen.value : '');
    } catch (e) {
      Q.showError(e.message);
    }
  });
  await loadOptions('');
};

PAGES.charge_done = async () => {
  const orderId = new URLSearchParams(location.search).get('order_id') || '';
  const status = document.getElementById('status');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(orderId)) {
    status.textContent = '注文が見つかりません。';
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
    ORDER_STATE_FAILED: `${label}：決済できませんでした。`,
    ORDER_STATE_AWAITING_PAYMENT: `${label}：まだお支払いが確認できていません。`,
    ORDER_STATE_PAID: `${label}：お支払いを確認しました。チャージ処理中です。`,
  };
  status.textContent = messages[order.state] || `${label}：${ORDER_STATES[order.state] || order.state}`;
  status.className = order.state === 'ORDER_STATE_CREDITED' ? 'ok' : '';
  document.getElementById('detail').textContent = `注文番号 ${order.orderId}`;
};

PAGES.vouchers = async () => {
  const body = document.getElementById('orders');
  const load = pagedTable(body, async (pageToken) => {
    const data = await Q.api('/api/v1/charge/orders', { query: { pageSize: 20, pageToken } });
    const { methods } = await Q.api('/api/v1/charge/options');
    const methodNames = Object.fromEntries(methods.map((m) => [m.method, m.label]));
    for (const order of data.orders || []) {
      const row = document.createElement('tr');
      row.append(Q.el('td', Q.time(order.createdAt)),
                 Q.el('td', `Qキャッシュ(${yenOf(order.denomination)}Qキャッシュのチャージ)`),
                 Q.el('td', methodNames[order.method] || order.method, 'optional'),
                 Q.el('td', Q.yen(order.amountYen), 'yen'),
                 Q.el('td', ORDER_STATES[order.state] || order.state));
      const actions = document.createElement('td');
      if (['ORDER_STATE_CREATED', 'ORDER_STATE_AWAITING_PAYMENT'].includes(order.state)) {
        const cancel = Q.el('button', 'キャンセル', 'secondary');
        cancel.type = 'button';
        const key = Q.newKey();
        cancel.addEventListener('click', async () => {
          try {
            await Q.api(`/api/v1/charge/orders/${order.orderId}/cancel`, { method: 'POST', key });
            await load(true);
          } catch (e) {
            Q.showError(e.message);
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
  document.getElementById('confirm-yes').addEventListener('click', async () => {
    dialog.close();
    try {
      const result = await Q.api('/api/v1/points/conversions', {
        method: 'POST', key, body: { pointsMonth: summary.conversion.pointsMonth },
      });
      const done = document.getElementById('converted');
      done.textContent = `交換が完了しました。${Q.qcash(result.conversion.convertedPoints)} がチャージされました。`;
      done.classList.remove('hidden');
      Q.showError('');
      await load();
    } catch (e) {
      Q.showError(e.message);
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

// Query fields of a period and a product filter, from the form's inputs.
function periodAndFilter() {
  const query = {};
  const value = (id) => (document.getElementById(id) || {}).value || '';
  const month = value('month');
  const from = value('from');
  const to = value('to');
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
  const load = pagedTable(body, async (pageToken) => {
    const data = await Q.api('/api/v1/points/products', { query: { ...periodAndFilter(), pageSize: 50, pageToken } });
    document.getElementById('period').textContent = data.from ? `期間：${dateLabel(data.from)}〜${dateLabel(data.to)}` : '';
    for (const product of data.products || []) {
      body.append(productRow(product, (p) => showDetail(p).catch((e) => Q.showError(e.message))));
    }
    Q.showError('');
    return data.nextPageToken;
  });
  await load(true);
};

PAGES.past = async () => {
  const body = document.getElementById('products');
  document.getElementById('filters').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      body.textContent = '';
      const data = await Q.api('/api/v1/points/past', { query: { ...periodAndFilter(), pageSize: 100 } });
      for (const product of data.products || []) body.append(productRow(product, null));
      document.getElementById('empty').classList.toggle('hidden', body.children.length > 0);
      Q.showError('');
    } catch (e) {
      Q.showError(e.message);
    }
  });
};

document.addEventListener('DOMContentLoaded', () => {
  const page = PAGES[document.body.dataset.page];
  if (page) page().catch((e) => Q.showError(e.message));
});
