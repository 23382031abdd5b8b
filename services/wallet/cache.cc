#include "services/wallet/cache.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/metrics.h"

namespace qcash::wallet {
namespace {

// KEYS[1] balance key; ARGV[1] version, ARGV[2] value, ARGV[3] ttl seconds.
// Writes only when the stored version is older (or absent).
constexpr const char* kPutBalanceLua = R"lua(
local current = redis.call('GET', KEYS[1])
if current then
  local v = tonumber(string.match(current, '^(%d+)|'))
  if v and v >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
)lua";

// KEYS[1] idempotency key; ARGV[1] "P|<request hash>|". Removes an in-flight marker of this
// request only (ours, or one its MAC made equally valid).
constexpr const char* kAbandonLua = R"lua(
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, #ARGV[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS[1]; ARGV[1] a value. Deletes the key only if it still holds exactly that value.
constexpr const char* kDeleteIfLua = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

constexpr size_t kMacBytes = 16;  // HMAC-SHA256 truncated to 128 bits (hex: 32 characters)

metrics::Counter* CacheLookups() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_cache_lookups_total",
      "Balance cache lookups by result (hit, miss, unavailable); hit ratio = hit / all.",
      {"result"});
  return counter;
}

// Keys per reader round trip: 1 when reads come one at a time, more as they coalesce.
metrics::Histogram* ReadBatchKeys() {
  static const std::vector<double> kBounds = {1,   2,   4,     8,     16,    32,     64,    128,
                                              256, 512, 1'000, 2'000, 5'000, 10'000, 20'000};
  static auto* const histogram = metrics::Registry::Global().NewHistogram(
      "qcash_wallet_cache_read_batch_keys",
      "Distinct balance keys per Redis round trip of the wallet's cache reader (one or more "
      "MGETs in one pipeline): how many concurrent balance reads were coalesced.",
      {}, kBounds);
  return histogram;
}

metrics::Counter* Unverified() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_cache_unverified_total",
      "Records read from Redis that decided nothing because their MAC did not verify (forged, "
      "corrupted, or written under another replay key) or an in-flight marker was past its "
      "expiry; PostgreSQL decided instead. By record (done, in_flight, balance, malformed).",
      {"record"});
  return counter;
}

// Counts every unverified record and logs a sample: at most one line per 10 s per process,
// with how many went unlogged since, so that a flood of forgeries cannot flood the log.
void ReportUnverified(absl::string_view record, absl::string_view key, absl::Time now) {
  Unverified()->Add({std::string(record)});
  static std::atomic<int64_t> last_logged_s{0};
  static std::atomic<int64_t> unlogged{0};
  const int64_t now_s = absl::ToUnixSeconds(now);
  int64_t last = last_logged_s.load();
  if (now_s - last < 10 || !last_logged_s.compare_exchange_strong(last, now_s)) {
    unlogged.fetch_add(1);
    return;
  }
  Log(LogLevel::kWarn, "redis_record_unverified",
      {{"record", std::string(record)},
       {"key", std::string(key)},
       {"unlogged_since_last", unlogged.exchange(0)},
       {"note", "ignored; PostgreSQL decides. Forged Redis data, or a replay key rotation"}});
}

// A Redis that answers the reader's MGET with an error (an ACL without +mget: a deployment
// older than the reader) makes every balance read go to PostgreSQL: slower, never wrong, and
// said in the log at most once per 10 s per process.
void ReportReadRefused(absl::string_view error, absl::Time now) {
  static std::atomic<int64_t> last_logged_s{0};
  const int64_t now_s = absl::ToUnixSeconds(now);
  int64_t last = last_logged_s.load();
  if (now_s - last < 10 || !last_logged_s.compare_exchange_strong(last, now_s)) return;
  Log(LogLevel::kWarn, "redis_balance_read_refused",
      {{"error", std::string(error)},
       {"note", "balance reads go to PostgreSQL; the wallet's Redis user needs +mget"}});
}

std::string EncodeBalanceValue(const Balance& b) {
  return absl::StrCat(b.version, "|", static_cast<int>(b.state), "|", b.available_yen, "|",
                      b.held_yen, "|", b.qmoney_yen, "|", b.pending_yen, "|", b.debt_yen);
}

bool ParseInts(absl::string_view text, std::vector<int64_t>* out) {
  for (absl::string_view part : absl::StrSplit(text, '|')) {
    int64_t v = 0;
    if (!absl::SimpleAtoi(part, &v)) return false;
    out->push_back(v);
  }
  return true;
}

}  // namespace

namespace {

// 64 random bits as hex: a wallet process's instance id.
std::string NewInstanceId() {
  unsigned char bytes[8];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    Log(LogLevel::kError, "instance_id_random_failed", {});
    std::abort();
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace

Cache::Cache(RedisClient* redis, Options options, const Clock* clock)
    : Cache(redis, std::move(options), clock, NewInstanceId()) {}

Cache::Cache(RedisClient* redis, Options options, const Clock* clock, std::string instance)
    : redis_(redis),
      options_(std::move(options)),
      instance_(std::move(instance)),
      clock_(clock),
      put_balance_sha_(redis->RegisterScript(kPutBalanceLua)),
      abandon_sha_(redis->RegisterScript(kAbandonLua)),
      delete_if_sha_(redis->RegisterScript(kDeleteIfLua)) {
  // Wallet::Start refuses a short key; an empty one here would make every MAC forgeable.
  if (options_.replay_key.size() < kReplayKeyBytesMin) {
    Log(LogLevel::kError, "replay_key_too_short", {});
    std::abort();
  }
  // HMAC-SHA256 under the replay key, keyed once; Mac() works on copies of it.
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  mac_template_.reset(hmac == nullptr ? nullptr : EVP_MAC_CTX_new(hmac));
  EVP_MAC_free(hmac);  // the context keeps its own reference
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  if (mac_template_ == nullptr ||
      EVP_MAC_init(mac_template_.get(),
                   reinterpret_cast<const unsigned char*>(options_.replay_key.data()),
                   options_.replay_key.size(), params) != 1) {
    Log(LogLevel::kError, "replay_mac_unavailable", {});
    std::abort();
  }
  reader_ = std::thread([this] { ReadLoop(); });
}

Cache::~Cache() { StopReads(); }

std::string Cache::Mac(absl::string_view kind,
                       std::initializer_list<absl::string_view> fields) const {
  // Length-prefixed fields: no two different field lists give the same message.
  std::string message = absl::StrCat("qcash-wallet-redis-v1|", kind);
  for (absl::string_view f : fields) absl::StrAppend(&message, "|", f.size(), ":", f);
  // A copy of the keyed context made once (see mac_template_): OpenSSL 3's one-shot HMAC()
  // fetched HMAC and SHA-256 from its provider tables and keyed a new context on every call,
  // a fifth of the wallet's CPU under batches (docs/PERFORMANCE.md).
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(mac_template_.get());
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t length = 0;
  const bool done = ctx != nullptr &&
                    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()),
                                   message.size()) == 1 &&
                    EVP_MAC_final(ctx, digest, &length, sizeof(digest)) == 1 && length >= kMacBytes;
  EVP_MAC_CTX_free(ctx);
  if (!done) {
    Log(LogLevel::kError, "redis_record_mac_failed", {});
    std::abort();  // only an allocation failure; a record must never get a wrong MAC
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), kMacBytes));
}

bool Cache::MacMatches(absl::string_view mac, absl::string_view kind,
                       std::initializer_list<absl::string_view> fields) const {
  const std::string expected = Mac(kind, fields);
  return mac.size() == expected.size() &&
         CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) == 0;
}

std::string Cache::DoneRecord(const Op& op, const OpResult& result) const {
  const std::string text = EncodeResult(result);
  return absl::StrCat(
      "D|", op.request_hash, "|", text, "|",
      Mac("D", {op.caller, op.seller_id, op.idempotency_key, op.request_hash, text}));
}

std::string Cache::InFlightRecord(const Op& op, absl::Time expires) const {
  const std::string payload = absl::StrCat(absl::ToUnixMillis(expires), "/", instance_);
  return absl::StrCat(
      "P|", op.request_hash, "|", payload, "|",
      Mac("P", {op.caller, op.seller_id, op.idempotency_key, op.request_hash, payload}));
}

std::string Cache::BalanceRecord(const Balance& b) const {
  const std::string text = EncodeBalanceValue(b);
  const std::string master = redis_->master_tag();
  return absl::StrCat(text, "|", master, "|", Mac("B", {b.seller_id, text, master}));
}

Cache::ClaimResult Cache::ReadClaim(const Op& op, absl::string_view value, absl::Time now) const {
  ClaimResult claim;
  claim.claim = Claim::kUnverified;
  // The MAC is the last field; the hash the second; between them the payload.
  const size_t last = value.rfind('|');
  if (value.size() < 4 || value[1] != '|' || last == absl::string_view::npos || last < 2) {
    return claim;
  }
  const absl::string_view mac = value.substr(last + 1);
  const absl::string_view body = value.substr(2, last - 2);  // "<hash>|<payload>"
  const size_t bar = body.find('|');
  if (bar == absl::string_view::npos) return claim;
  const absl::string_view hash = body.substr(0, bar);
  const absl::string_view payload = body.substr(bar + 1);
  if (value[0] == 'P') {
    int64_t expires_ms = 0;
    const size_t slash = payload.find('/');
    if (slash == absl::string_view::npos ||
        !absl::SimpleAtoi(payload.substr(0, slash), &expires_ms) ||
        !MacMatches(mac, "P", {op.caller, op.seller_id, op.idempotency_key, hash, payload})) {
      return claim;
    }
    if (payload.substr(slash + 1) != instance_) {
      claim.claim = Claim::kForeign;
      return claim;
    }
    // Past its expiry, or further ahead than any marker we write: it decides nothing.
    const absl::Time expires = absl::FromUnixMillis(expires_ms);
    if (expires <= now ||
        expires > now + absl::Milliseconds(options_.in_flight_ttl_ms) + absl::Seconds(5)) {
      return claim;
    }
    claim.claim = hash == op.request_hash ? Claim::kInFlight : Claim::kReused;
    return claim;
  }
  if (value[0] == 'D') {
    if (!MacMatches(mac, "D", {op.caller, op.seller_id, op.idempotency_key, hash, payload})) {
      return claim;
    }
    if (hash != op.request_hash) {
      claim.claim = Claim::kReused;
      return claim;
    }
    std::optional<OpResult> stored = DecodeResult(payload, op.seller_id);
    if (!stored.has_value()) return claim;
    claim.claim = Claim::kDone;
    claim.stored = std::move(*stored);
    claim.stored.outcome = Outcome::kReplayed;
  }
  return claim;
}

std::optional<Balance> Cache::ReadBalance(const std::string& seller_id, absl::string_view value,
                                          bool* from_another_master) const {
  if (from_another_master != nullptr) *from_another_master = false;
  const size_t last = value.rfind('|');
  if (last == absl::string_view::npos) return std::nullopt;
  const size_t before_master = value.rfind('|', last == 0 ? 0 : last - 1);
  if (before_master == absl::string_view::npos || before_master >= last) return std::nullopt;
  const absl::string_view text = value.substr(0, before_master);
  const absl::string_view master = value.substr(before_master + 1, last - before_master - 1);
  if (!MacMatches(value.substr(last + 1), "B", {seller_id, text, master})) return std::nullopt;
  // Written to another master: a failover happened since, and this may be a copy from before
  // writes that the old master took and lost (docs/REDIS-HA.md).
  if (master != redis_->master_tag()) {
    if (from_another_master != nullptr) *from_another_master = true;
    return std::nullopt;
  }
  std::vector<int64_t> v;
  // Six numbers: a value written before debts existed (no claw-back had happened: debt 0).
  if (!ParseInts(text, &v) || (v.size() != 6 && v.size() != 7)) return std::nullopt;
  Balance b;
  b.seller_id = seller_id;
  b.version = v[0];
  b.state = static_cast<WalletState>(v[1]);
  b.available_yen = v[2];
  b.held_yen = v[3];
  b.qmoney_yen = v[4];
  b.pending_yen = v[5];
  b.debt_yen = v.size() > 6 ? v[6] : 0;
  return b;
}

std::string Cache::BalanceKey(const std::string& seller_id) const {
  return absl::StrCat("qcash:wallet:bal:{", seller_id, "}");
}

std::string Cache::IdempotencyKey(const Op& op) const {
  return absl::StrCat("qcash:wallet:idem:{", op.seller_id, "}:", op.caller, ":",
                      op.idempotency_key);
}

std::optional<Balance> Cache::GetBalance(const std::string& seller_id) {
  auto answered = std::make_shared<Notification>();
  auto balance = std::make_shared<std::optional<Balance>>();
  ReadBalances({seller_id}, [answered, balance](CachedBalances cached) {
    *balance = std::move(cached[0]);
    answered->Notify();
  });
  answered->WaitForNotification();
  return std::move(*balance);
}

void Cache::ReadBalances(std::vector<std::string> seller_ids, BalancesCallback done) {
  const size_t count = seller_ids.size();
  {
    MutexLock lock(&read_mu_);
    if (!read_stopping_ && read_queue_keys_ + count <= kReadQueueKeysMax) {
      read_queue_keys_ += count;
      read_queue_.push_back({std::move(seller_ids), std::move(done)});
      read_cv_.Signal();
      return;
    }
  }
  CacheLookups()->Add({"unavailable"}, static_cast<double>(count));
  std::move(done)(CachedBalances(count));
}

void Cache::StopReads() {
  {
    MutexLock lock(&read_mu_);
    if (read_stopping_) return;
    read_stopping_ = true;
  }
  read_cv_.SignalAll();
  reader_.join();
}

Cache::ReadStats Cache::read_stats() const {
  ReadStats stats;
  stats.round_trips = read_round_trips_.load();
  stats.keys = read_keys_.load();
  return stats;
}

void Cache::ReadLoop() {
  for (;;) {
    std::vector<ReadRequest> requests;
    {
      MutexLock lock(&read_mu_);
      read_cv_.Wait(&read_mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_) {
        return !read_queue_.empty() || read_stopping_;
      });
      // Stopping: what was queued before is still answered (the queue drains first).
      if (read_queue_.empty()) return;
      size_t keys = 0;
      while (!read_queue_.empty() &&
             (requests.empty() ||
              keys + read_queue_.front().seller_ids.size() <= kReadRoundTripKeysMax)) {
        keys += read_queue_.front().seller_ids.size();
        requests.push_back(std::move(read_queue_.front()));
        read_queue_.pop_front();
      }
      read_queue_keys_ -= keys;
    }
    ServeReads(std::move(requests));
  }
}

void Cache::ServeReads(std::vector<ReadRequest> requests) {
  // Each distinct seller once, however many lookups name it (a hot seller's readers share
  // its key).
  enum class Found { kMiss, kHit, kUnavailable };
  struct Answer {
    Found found = Found::kMiss;
    std::optional<Balance> balance;
    bool ask = true;  // sent to Redis (not held back by a pending write)
  };
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<std::string> sellers;
  for (const ReadRequest& request : requests) {
    for (const std::string& id : request.seller_ids) {
      if (index.try_emplace(id, sellers.size()).second) sellers.push_back(id);
    }
  }
  std::vector<Answer> answers(sellers.size());
  // A balance whose cache write failed is older in Redis than in PostgreSQL until
  // FlushPending writes it: after a Sentinel failover the new master serves its copy from
  // before the outage (docs/REDIS-HA.md). Not read from the cache meanwhile.
  if (has_pending_.load()) {
    MutexLock lock(&mu_);
    for (size_t i = 0; i < sellers.size(); ++i) answers[i].ask = !pending_.contains(sellers[i]);
  }
  std::vector<size_t> asked;  // into `sellers`, in the order of the MGETs' keys
  std::vector<RedisCommand> commands;
  for (size_t i = 0; i < sellers.size(); ++i) {
    if (!answers[i].ask) continue;
    if (asked.size() % kReadMgetKeysMax == 0) commands.push_back({"MGET"});
    commands.back().push_back(BalanceKey(sellers[i]));
    asked.push_back(i);
  }
  // Records that did not verify, to remove once the callbacks have run: key, value.
  std::vector<std::pair<std::string, std::string>> unverified;
  if (!commands.empty()) {
    read_round_trips_.fetch_add(1);
    read_keys_.fetch_add(static_cast<int64_t>(asked.size()));
    ReadBatchKeys()->Observe({}, static_cast<double>(asked.size()));
    auto replies = redis_->Pipeline(commands);
    for (size_t k = 0; k < asked.size(); ++k) {
      Answer& answer = answers[asked[k]];
      const std::string& seller = sellers[asked[k]];
      // An error reply (e.g. NOPERM from an ACL without MGET) or a short array: as Redis down.
      const RedisReply* mget = replies.ok() ? &(*replies)[k / kReadMgetKeysMax] : nullptr;
      const size_t at = k % kReadMgetKeysMax;
      if (mget == nullptr || mget->type != RedisReply::Type::kArray ||
          at >= mget->elements.size()) {
        answer.found = Found::kUnavailable;
        continue;
      }
      const RedisReply& value = mget->elements[at];
      if (value.type != RedisReply::Type::kString) continue;  // no record: a miss
      bool from_another_master = false;
      answer.balance = ReadBalance(seller, value.str, &from_another_master);
      if (answer.balance.has_value()) {
        answer.found = Found::kHit;
        continue;
      }
      // Not ours, or from before a failover: removed below (unless it changed meanwhile), or
      // its version would keep our compare-and-set from caching the real balance until it
      // expires.
      std::string key = BalanceKey(seller);
      if (!from_another_master) ReportUnverified("balance", key, clock_->Now());
      unverified.emplace_back(std::move(key), value.str);
    }
    if (replies.ok()) {
      for (const RedisReply& reply : *replies) {
        if (reply.is_error()) ReportReadRefused(reply.str, clock_->Now());
      }
    }
  }
  // Every lookup's answers, counted per id asked (as one GET per read counted them) before
  // any caller sees its answer.
  std::vector<CachedBalances> cached(requests.size());
  double hits = 0;
  double misses = 0;
  double unavailable = 0;
  for (size_t r = 0; r < requests.size(); ++r) {
    cached[r].reserve(requests[r].seller_ids.size());
    for (const std::string& id : requests[r].seller_ids) {
      const Answer& answer = answers[index.at(id)];
      switch (answer.found) {
        case Found::kHit:
          hits += 1;
          break;
        case Found::kUnavailable:
          unavailable += 1;
          break;
        case Found::kMiss:
        default:
          misses += 1;
          break;
      }
      cached[r].push_back(answer.balance);
    }
  }
  if (hits > 0) CacheLookups()->Add({"hit"}, hits);
  if (misses > 0) CacheLookups()->Add({"miss"}, misses);
  if (unavailable > 0) CacheLookups()->Add({"unavailable"}, unavailable);
  for (size_t r = 0; r < requests.size(); ++r) std::move(requests[r].done)(std::move(cached[r]));
  if (unverified.empty()) return;
  // After the callbacks, so that no answer waits for it. A miss's refill racing this delete
  // is refused by the compare-and-set while the record stands, and the record is gone after:
  // the next read misses once more, never shows it.
  std::vector<RedisCommand> deletes;
  deletes.reserve(unverified.size());
  for (auto& [key, value] : unverified) {
    deletes.push_back({"EVALSHA", delete_if_sha_, "1", std::move(key), std::move(value)});
  }
  (void)redis_->Pipeline(deletes);
}

RedisCommand Cache::PutBalanceCommand(const Balance& b) const {
  return {"EVALSHA",
          put_balance_sha_,
          "1",
          BalanceKey(b.seller_id),
          absl::StrCat(b.version),
          BalanceRecord(b),
          absl::StrCat(options_.balance_ttl_s)};
}

void Cache::RememberPending(const std::vector<Balance>& balances) {
  MutexLock lock(&mu_);
  for (const Balance& b : balances) {
    auto it = pending_.find(b.seller_id);
    if (it != pending_.end()) {
      if (it->second.version < b.version) it->second = b;
    } else if (pending_.size() < options_.pending_writes_max) {
      pending_.emplace(b.seller_id, b);
    }
    // Beyond the bound the write is dropped; the key's TTL bounds how long it stays stale.
  }
  has_pending_.store(!pending_.empty());
}

void Cache::PutBalances(const std::vector<Balance>& balances) {
  if (balances.empty()) return;
  std::vector<RedisCommand> commands;
  commands.reserve(balances.size());
  for (const Balance& b : balances) commands.push_back(PutBalanceCommand(b));
  if (!redis_->Pipeline(commands).ok()) RememberPending(balances);
}

size_t Cache::FlushPending() {
  if (!has_pending_.load() || !redis_->available()) {
    MutexLock lock(&mu_);
    return pending_.size();
  }
  std::vector<Balance> batch;
  {
    MutexLock lock(&mu_);
    for (auto it = pending_.begin(); it != pending_.end() && batch.size() < 1000; ++it) {
      batch.push_back(it->second);
    }
  }
  // They stay pending (not read from the cache: GetBalance) until Redis has taken them.
  std::vector<RedisCommand> commands;
  commands.reserve(batch.size());
  for (const Balance& b : batch) commands.push_back(PutBalanceCommand(b));
  const bool written = redis_->Pipeline(commands).ok();
  MutexLock lock(&mu_);
  if (written) {
    for (const Balance& b : batch) {
      auto it = pending_.find(b.seller_id);
      if (it != pending_.end() && it->second.version <= b.version) pending_.erase(it);
    }
    has_pending_.store(!pending_.empty());
  }
  return pending_.size();
}

std::vector<Cache::ClaimResult> Cache::BeginBatch(const std::vector<const Op*>& ops) {
  std::vector<ClaimResult> out(ops.size());
  std::vector<RedisCommand> commands;
  std::vector<size_t> index;
  const absl::Time now = clock_->Now();
  const absl::Time expires = now + absl::Milliseconds(options_.in_flight_ttl_ms);
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i]->idempotency_key.empty()) continue;
    // Marks the key in flight if it is free (then answers nil), otherwise answers what is there
    // and changes nothing: one plain command (Redis >= 7.0), no script.
    commands.push_back({"SET", IdempotencyKey(*ops[i]), InFlightRecord(*ops[i], expires), "NX",
                        "PX", absl::StrCat(options_.in_flight_ttl_ms), "GET"});
    index.push_back(i);
  }
  if (commands.empty()) return out;
  auto replies = redis_->Pipeline(commands);
  if (!replies.ok()) return out;  // all kUnavailable: PostgreSQL decides
  for (size_t k = 0; k < index.size(); ++k) {
    const RedisReply& reply = (*replies)[k];
    ClaimResult& claim = out[index[k]];
    const Op& op = *ops[index[k]];
    if (reply.type == RedisReply::Type::kError) continue;  // unavailable: PostgreSQL decides
    if (reply.is_nil()) {
      claim.claim = Claim::kClaimed;
      continue;
    }
    claim = ReadClaim(op, reply.str, now);
    if (claim.claim == Claim::kUnverified) {
      ReportUnverified(reply.str.rfind("D|", 0) == 0   ? "done"
                       : reply.str.rfind("P|", 0) == 0 ? "in_flight"
                                                       : "malformed",
                       commands[k][1], now);
    }
  }
  return out;
}

void Cache::FinishBatch(const std::vector<const Op*>& ops,
                        const std::vector<const OpResult*>& results,
                        const std::vector<bool>& claimed) {
  std::vector<RedisCommand> commands;
  absl::flat_hash_map<std::string, Balance> newest;
  absl::flat_hash_set<std::string> replayed;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = *ops[i];
    const OpResult* result = results[i];
    const bool success = result != nullptr && (result->outcome == Outcome::kApplied ||
                                               result->outcome == Outcome::kReplayed);
    if (!op.idempotency_key.empty()) {
      if (success) {
        commands.push_back({"SET", IdempotencyKey(op), DoneRecord(op, *result), "EX",
                            absl::StrCat(options_.idempotency_ttl_s)});
      } else if (claimed[i]) {
        commands.push_back({"EVALSHA", abandon_sha_, "1", IdempotencyKey(op),
                            absl::StrCat("P|", op.request_hash, "|")});
      }
    }
    if (success && result->outcome == Outcome::kApplied) {
      auto [it, inserted] = newest.try_emplace(op.seller_id, result->balance);
      if (!inserted && it->second.version < result->balance.version) it->second = result->balance;
    }
    if (success && result->outcome == Outcome::kReplayed) replayed.insert(op.seller_id);
  }
  std::vector<Balance> balances;
  balances.reserve(newest.size());
  for (auto& [seller, balance] : newest) {
    commands.push_back(PutBalanceCommand(balance));
    balances.push_back(std::move(balance));
  }
  // A replay answered from PostgreSQL may be the first answer to a write whose commit was in
  // doubt (the connection lost at COMMIT, or the wallet killed before this step): its balance
  // never reached the cache, which may still hold the one before it. The replayed balance is
  // the original answer, possibly older than the seller's balance now, so it is not written;
  // the cached one goes, and the next read loads the current balance from PostgreSQL (the
  // chaos run found reads one version behind an acknowledged write without this).
  for (const std::string& seller : replayed) {
    if (newest.count(seller) == 0) commands.push_back({"DEL", BalanceKey(seller)});
  }
  if (commands.empty()) return;
  if (!redis_->Pipeline(commands).ok()) RememberPending(balances);
}

std::string Cache::EncodeResult(const OpResult& r) {
  const int64_t expires =
      r.expires_at == absl::InfinitePast() ? -1 : absl::ToUnixMicros(r.expires_at);
  return absl::StrCat(r.entry_seq, "|", r.hold_id, "|", r.amount_yen, "|", r.amount2_yen, "|",
                      r.created ? 1 : 0, "|", r.balance.available_yen, "|", r.balance.held_yen, "|",
                      r.balance.qmoney_yen, "|", r.balance.pending_yen, "|", r.balance.version, "|",
                      static_cast<int>(r.balance.state), "|", expires, "|", r.balance.debt_yen);
}

std::optional<OpResult> Cache::DecodeResult(absl::string_view text, const std::string& seller_id) {
  std::vector<int64_t> v;
  // Twelve numbers: a record written before debts existed (debt 0).
  if (!ParseInts(text, &v) || (v.size() != 12 && v.size() != 13)) return std::nullopt;
  OpResult r;
  r.entry_seq = v[0];
  r.hold_id = v[1];
  r.amount_yen = v[2];
  r.amount2_yen = v[3];
  r.created = v[4] != 0;
  r.balance.seller_id = seller_id;
  r.balance.available_yen = v[5];
  r.balance.held_yen = v[6];
  r.balance.qmoney_yen = v[7];
  r.balance.pending_yen = v[8];
  r.balance.version = v[9];
  r.balance.state = static_cast<WalletState>(v[10]);
  r.expires_at = v[11] < 0 ? absl::InfinitePast() : absl::FromUnixMicros(v[11]);
  r.balance.debt_yen = v.size() > 12 ? v[12] : 0;
  return r;
}

}  // namespace qcash::wallet
