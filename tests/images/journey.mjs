// The API journey against the system run from its images (tests/images/run.sh): one new seller
// logs in (development login), converts last month's service points, charges 1,000 yen by card
// through the provider sandbox, and has Qcash spent by the ad-booking service; every step's
// effect on the balance is checked through the gateway, and every retry with the same key is
// answered with the first result and moves nothing.
//
// The gateway is reached over HTTP; the two callers the gateway does not play (the marketplace
// recording service points, the ad-booking service spending) call the points and wallet
// services over gRPC with their own mTLS certificates, as they would in production.
//
// Environment (all set by run.sh):
//   QCASH_GATEWAY_URL   e.g. http://127.0.0.1:18480
//   QCASH_WALLET_ADDR   the wallet's gRPC port published on 127.0.0.1, e.g. 127.0.0.1:18451
//   QCASH_POINTS_ADDR   the points service's, e.g. 127.0.0.1:18453
//   QCASH_PKI           the dev-pki folder with ca.pem, adbooking.{pem,key}, marketplace.{pem,key}
//   QCASH_PROTO         the repository's proto/ folder
//   QCASH_JOURNEY_RELEASE=1 and QCASH_TOKEN_KEY   for the release images (below)
// Exits 0 when every step saw what it should; prints each step.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env('QCASH_GATEWAY_URL');
const pki = env('QCASH_PKI');
const protoDir = env('QCASH_PROTO');
const seller = `images-${Date.now().toString(36)}`;
// The release images (QCASH_JOURNEY_RELEASE=1) have no development login and accept no
// sandbox: the journey then signs the seller's token itself (QCASH_TOKEN_KEY, the key the
// gateway's QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE verifies), has the wallet opened by settlement,
// and leaves out the charge.
const release = process.env.QCASH_JOURNEY_RELEASE === '1';
const step = (text) => console.log(`step: ${text}`);
// Every wait is bounded: a condition polled at most this often before the journey fails.
const kPolls = 150;
const kPollMs = 200;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- gRPC, as the services' other callers -------------------------------------------------------

const definition = protoLoader.loadSync(
  ['qcash/wallet/v1/wallet.proto', 'qcash/points/v1/points.proto'],
  { includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true });
const loaded = grpc.loadPackageDefinition(definition);

// A client of `service` (its certificate names it: DNS:<service>) at its published address.
function client(Service, address, service, identity) {
  const credentials = grpc.credentials.createSsl(
    fs.readFileSync(path.join(pki, 'ca.pem')), fs.readFileSync(path.join(pki, `${identity}.key`)),
    fs.readFileSync(path.join(pki, `${identity}.pem`)));
  return new Service(address, credentials, { 'grpc.ssl_target_name_override': service,
                                             'grpc.default_authority': service });
}

function call(stub, method, request) {
  return new Promise((resolve, reject) => {
    stub[method](request, { deadline: new Date(Date.now() + 10_000) }, (error, response) => {
      if (error) reject(error); else resolve(response);
    });
  });
}

// Whether a gRPC error carries the ErrorInfo `reason` (common/status.h): the google.rpc.Status
// in the grpc-status-details-bin trailer, read just enough to find the reason's bytes in it.
function hasReason(error, reason) {
  const details = error.metadata?.get('grpc-status-details-bin')?.[0];
  if (!details) return false;
  return (Buffer.from(details).toString('latin1').match(/[A-Z][A-Z0-9_]+/g) ?? []).includes(reason);
}

// A seller token as the marketplace's login issues it (common/seller_token.h): ES256, iss
// qoo10-login, aud qcash-gateway, sub the seller, ten minutes.
function sellerToken(sellerId) {
  const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
    .toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const signed = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({
    iss: 'qoo10-login', aud: 'qcash-gateway', sub: sellerId, iat: now, nbf: now, exp: now + 600 })}`;
  const signature = crypto.sign('sha256', Buffer.from(signed), {
    key: fs.readFileSync(env('QCASH_TOKEN_KEY')), dsaEncoding: 'ieee-p1363' });
  return `${signed}.${signature.toString('base64url')}`;
}

// --- HTTP, as the seller's browser or script ----------------------------------------------------

let token = '';
async function http(method, route, { body, key, auth = true } = {}) {
  const headers = {};
  if (auth) headers.Authorization = `Bearer ${token}`;
  if (key) headers['Idempotency-Key'] = key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${base}${route}`, {
    method, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* pages and empty bodies */ }
  return { status: response.status, headers: response.headers, text, json };
}

function expectStatus(response, status, what) {
  assert.equal(response.status, status, `${what}: HTTP ${response.status} ${response.text}`);
}

async function availableYen() {
  const balance = await http('GET', '/api/v1/balance');
  expectStatus(balance, 200, 'balance');
  // int64 fields are JSON strings; a zero is left out (proto3 JSON).
  const match = /"availableYen":"(-?\d+)"/.exec(balance.text);
  return match ? Number(match[1]) : 0;
}

async function waitForBalance(yen, what) {
  let seen = -1;
  for (let i = 0; i < kPolls; ++i) {
    seen = await availableYen();
    if (seen === yen) return;
    await sleep(kPollMs);
  }
  assert.fail(`${what}: the balance stayed at ${seen}, expected ${yen}`);
}

// The JST month before this one, and a moment inside it.
function lastMonthJst() {
  const jstNow = new Date(Date.now() + 9 * 3600_000);
  let year = jstNow.getUTCFullYear();
  let month = jstNow.getUTCMonth();  // 0-based: this month - 1 in 1-based terms
  if (month === 0) { year -= 1; month = 12; }
  // The 10th, 12:00 JST, of last month.
  const seconds = Math.floor(Date.UTC(year, month - 1, 10, 3, 0, 0) / 1000);
  return { year, month, seconds };
}

try {
  step('the gateway is alive and ready');
  expectStatus(await http('GET', '/healthz', { auth: false }), 200, '/healthz');
  expectStatus(await http('GET', '/readyz', { auth: false }), 200, '/readyz');

  if (release) {
    step('release images: no development login; a seller token signed as the marketplace\'s login would');
    const login = await fetch(`${base}/dev/login`, { method: 'POST', redirect: 'manual',
                                                     signal: AbortSignal.timeout(10_000) });
    assert.equal(login.status, 404, `a release gateway answered /dev/login with ${login.status}`);
    token = sellerToken(seller);
    step('settlement opens the seller\'s wallet over gRPC with mTLS');
    const settlement = client(loaded.qcash.wallet.v1.WalletService, env('QCASH_WALLET_ADDR'), 'wallet',
                              'settlement');
    const opened = await call(settlement, 'OpenWallet', { seller_id: seller,
                                                          idempotency_key: `${seller}-open` });
    assert.equal(opened.created, true);
    settlement.close();
  } else {
    step(`development login as ${seller}: a session token, and a new empty wallet`);
    const login = await fetch(`${base}/dev/login`, {
      method: 'POST', redirect: 'manual', signal: AbortSignal.timeout(10_000),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `seller_id=${encodeURIComponent(seller)}`,
    });
    assert.equal(login.status, 303, `dev login: HTTP ${login.status} ${await login.text()}`);
    for (const cookie of login.headers.getSetCookie()) {
      const match = /^(?:__Host-)?qcash_session=([^;]+)/.exec(cookie);
      if (match) token = match[1];
    }
    assert.ok(token, 'dev login set no session cookie');
  }
  assert.equal(await availableYen(), 0);

  step('the marketplace records last month\'s service points (1,234) over gRPC with mTLS');
  const points = client(loaded.qcash.points.v1.PointsService, env('QCASH_POINTS_ADDR'), 'points', 'marketplace');
  const last = lastMonthJst();
  const events = [
    { product_no: 'P-1', points: 1000, component: 'COMPONENT_SHIPPING' },
    { product_no: 'P-2', points: 300, component: 'COMPONENT_SHIPPING' },
    { product_no: 'P-1', points: -66, component: 'COMPONENT_CLAIM' },
  ].map((e, i) => ({
    event_id: `${seller}-e${i}`, seller_id: seller, product_no: e.product_no,
    product_name: `商品 ${e.product_no}`, category: 'ノート', component: e.component,
    sale_type: 'SALE_TYPE_GENERAL', points: String(e.points),
    occurred_at: { seconds: String(last.seconds + i * 3600), nanos: 0 },
  }));
  const recorded = await call(points, 'RecordPointEvents', { events });
  assert.equal(recorded.results.length, 3);

  step('the summary shows 1,200 convertible points; converting credits 1,200 Qcash once');
  const summary = await http('GET', '/api/v1/points/summary');
  expectStatus(summary, 200, 'points summary');
  assert.match(summary.text, /"convertiblePoints":"1200"/);
  const monthBody = { pointsMonth: { year: last.year, month: last.month } };
  const convert = await http('POST', '/api/v1/points/conversions', { body: monthBody, key: `${seller}-convert` });
  expectStatus(convert, 200, 'conversion');
  await waitForBalance(1200, 'after the conversion');
  const again = await http('POST', '/api/v1/points/conversions', { body: monthBody, key: `${seller}-convert` });
  expectStatus(again, 200, 'the conversion retried with its key');
  assert.equal(await availableYen(), 1200, 'a retried conversion moved money');

  if (!release) {
    step('charge 1,000 yen by card through the provider sandbox');
    const options = await http('GET', '/api/v1/charge/options');
    expectStatus(options, 200, 'charge options');
    assert.match(options.text, /PAYMENT_METHOD_CARD/);
    const order = { denomination: 'DENOMINATION_1000', method: 'PAYMENT_METHOD_CARD', paymentToken: 'tok_visa' };
    const card = await http('POST', '/api/v1/charge/orders', { body: order, key: `${seller}-card` });
    expectStatus(card, 200, 'card charge');
    const orderId = card.json?.order?.orderId ?? /"orderId":"([^"]+)"/.exec(card.text)?.[1];
    assert.ok(orderId, `no order id in ${card.text}`);
    await waitForBalance(2200, 'after the card charge');
    const replay = await http('POST', '/api/v1/charge/orders', { body: order, key: `${seller}-card` });
    expectStatus(replay, 200, 'the charge retried with its key');
    assert.match(replay.text, new RegExp(`"orderId":"${orderId}"`));
    assert.match(replay.text, /"replayed":true/);
    const detail = await http('GET', `/api/v1/charge/orders/${orderId}`);
    expectStatus(detail, 200, 'order detail');
    assert.match(detail.text, /ORDER_STATE_CREDITED/, detail.text);
    assert.equal(await availableYen(), 2200, 'a retried charge moved money');
  }
  const charged = release ? 0 : 1000;

  step('the ad-booking service spends 700 over gRPC with mTLS; a retry with its key spends nothing');
  const wallet = client(loaded.qcash.wallet.v1.WalletService, env('QCASH_WALLET_ADDR'), 'wallet', 'adbooking');
  const spend = {
    seller_id: seller, idempotency_key: `${seller}-spend`, amount_yen: '700',
    product: 'AD_PRODUCT_TIME_SALE', booking_reference: `${seller}-booking-1`,
  };
  const spent = await call(wallet, 'Spend', spend);
  assert.equal(spent.result.replayed, false);
  const spentAgain = await call(wallet, 'Spend', spend);
  assert.equal(spentAgain.result.replayed, true);
  assert.equal(await availableYen(), 500 + charged);

  step('spending more than the balance is refused (INSUFFICIENT_FUNDS) and moves nothing');
  await assert.rejects(
    call(wallet, 'Spend', { ...spend, idempotency_key: `${seller}-too-much`, amount_yen: '5000',
                            booking_reference: `${seller}-booking-2` }),
    (error) => error.code === grpc.status.FAILED_PRECONDITION && hasReason(error, 'INSUFFICIENT_FUNDS'));
  assert.equal(await availableYen(), 500 + charged);

  step(`the history has the conversion${release ? '' : ', the charge'} and the spend`);
  const history = await http('GET', '/api/v1/history');
  expectStatus(history, 200, 'history');
  const entries = history.text.match(/"seq"/g)?.length ?? 0;
  assert.ok(entries >= (release ? 2 : 3), `expected the entries: ${history.text}`);

  points.close();
  wallet.close();
  console.log(`journey: every step passed (seller ${seller}, balance ${500 + charged})`);
  console.log(`seller=${seller}`);
} catch (error) {
  console.error(`journey failed: ${error.stack ?? error}`);
  process.exitCode = 1;
}
