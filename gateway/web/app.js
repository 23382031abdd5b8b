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
      headers['X-CSRF-Token'] = cookie('qcash_csrf');
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
      const error = new Error(data.message || `エラーが発生しました（${response.status}）`);
      error.reason = ((data.details || [])[0] || {}).reason || '';
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
  const more = document.getElementById('more');
  let pageToken = '';
  async function load(reset) {
    if (reset) { body.textContent = ''; pageToken = ''; }
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
    pageToken = data.nextPageToken;
    more.classList.toggle('hidden', !pageToken);
    document.getElementById('empty').classList.toggle('hidden', body.children.length > 0);
  }
  document.getElementById('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    load(true).catch((e) => Q.showError(e.message));
  });
  more.addEventListener('click', () => load(false).catch((e) => Q.showError(e.message)));
  await load(true);
};

document.addEventListener('DOMContentLoaded', () => {
  const page = PAGES[document.body.dataset.page];
  if (page) page().catch((e) => Q.showError(e.message));
});
