#include "services/wallet/cache.h"

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

// KEYS[1] idempotency key; ARGV[1] request hash, ARGV[2] in-flight ttl ms.
// Marks the key in flight if free; otherwise returns what is there.
constexpr const char* kBeginLua = R"lua(
if redis.call('SET', KEYS[1], 'P|' .. ARGV[1], 'NX', 'PX', ARGV[2]) then return 'OK' end
return redis.call('GET', KEYS[1])
)lua";

// KEYS[1] idempotency key; ARGV[1] request hash. Removes our in-flight marker only.
constexpr const char* kAbandonLua = R"lua(
if redis.call('GET', KEYS[1]) == 'P|' .. ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

metrics::Counter* CacheLookups() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_cache_lookups_total",
      "Balance cache lookups by result (hit, miss, unavailable); hit ratio = hit / all.",
      {"result"});
  return counter;
}

std::string EncodeBalanceValue(const Balance& b) {
  return absl::StrCat(b.version, "|", static_cast<int>(b.state), "|", b.available_yen, "|",
                      b.held_yen, "|", b.qmoney_yen, "|", b.pending_yen);
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

Cache::Cache(RedisClient* redis, Options options)
    : redis_(redis),
      options_(options),
      put_balance_sha_(redis->RegisterScript(kPutBalanceLua)),
      begin_sha_(redis->RegisterScript(kBeginLua)),
      abandon_sha_(redis->RegisterScript(kAbandonLua)) {}

std::string Cache::BalanceKey(const std::string& seller_id) const {
  return absl::StrCat("qcash:wallet:bal:{", seller_id, "}");
}

std::string Cache::IdempotencyKey(const Op& op) const {
  return absl::StrCat("qcash:wallet:idem:{", op.seller_id, "}:", op.caller, ":",
                      op.idempotency_key);
}

std::optional<Balance> Cache::GetBalance(const std::string& seller_id) {
  auto reply = redis_->Command({"GET", BalanceKey(seller_id)});
  if (!reply.ok()) {
    CacheLookups()->Add({"unavailable"});
    return std::nullopt;
  }
  if (reply->type != RedisReply::Type::kString) {
    CacheLookups()->Add({"miss"});
    return std::nullopt;
  }
  CacheLookups()->Add({"hit"});
  std::vector<int64_t> v;
  if (!ParseInts(reply->str, &v) || v.size() != 6) return std::nullopt;
  Balance b;
  b.seller_id = seller_id;
  b.version = v[0];
  b.state = static_cast<WalletState>(v[1]);
  b.available_yen = v[2];
  b.held_yen = v[3];
  b.qmoney_yen = v[4];
  b.pending_yen = v[5];
  return b;
}

RedisCommand Cache::PutBalanceCommand(const Balance& b) const {
  return {"EVALSHA", put_balance_sha_, "1", BalanceKey(b.seller_id), absl::StrCat(b.version),
          EncodeBalanceValue(b), absl::StrCat(options_.balance_ttl_s)};
}

void Cache::RememberPending(const std::vector<Balance>& balances) {
  std::lock_guard<std::mutex> lock(mu_);
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
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }
  std::vector<Balance> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = pending_.begin(); it != pending_.end() && batch.size() < 1000; ++it) {
      batch.push_back(it->second);
    }
    for (const Balance& b : batch) pending_.erase(b.seller_id);
    has_pending_.store(!pending_.empty());
  }
  PutBalances(batch);  // failures go back into pending_
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

std::vector<Cache::ClaimResult> Cache::BeginBatch(const std::vector<const Op*>& ops) {
  std::vector<ClaimResult> out(ops.size());
  std::vector<RedisCommand> commands;
  std::vector<size_t> index;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i]->idempotency_key.empty()) continue;
    commands.push_back({"EVALSHA", begin_sha_, "1", IdempotencyKey(*ops[i]),
                        ops[i]->request_hash, absl::StrCat(options_.in_flight_ttl_ms)});
    index.push_back(i);
  }
  if (commands.empty()) return out;
  auto replies = redis_->Pipeline(commands);
  if (!replies.ok()) return out;  // all kUnavailable: PostgreSQL decides
  for (size_t k = 0; k < index.size(); ++k) {
    const RedisReply& reply = (*replies)[k];
    ClaimResult& claim = out[index[k]];
    const Op& op = *ops[index[k]];
    if (reply.type == RedisReply::Type::kError || reply.is_nil()) continue;  // unavailable
    if (reply.str == "OK") {
      claim.claim = Claim::kClaimed;
      continue;
    }
    // "P|hash" or "D|hash|result"
    const absl::string_view value = reply.str;
    if (value.size() < 2 || value[1] != '|') continue;
    const absl::string_view rest = value.substr(2);
    const absl::string_view hash = rest.substr(0, rest.find('|'));
    if (hash != op.request_hash) {
      claim.claim = Claim::kReused;
    } else if (value[0] == 'P') {
      claim.claim = Claim::kInFlight;
    } else if (value[0] == 'D' && hash.size() + 1 < rest.size()) {
      std::optional<OpResult> stored = DecodeResult(rest.substr(hash.size() + 1), op.seller_id);
      if (stored.has_value()) {
        claim.claim = Claim::kDone;
        claim.stored = std::move(*stored);
        claim.stored.outcome = Outcome::kReplayed;
      }
    }
  }
  return out;
}

void Cache::FinishBatch(const std::vector<const Op*>& ops,
                        const std::vector<const OpResult*>& results,
                        const std::vector<bool>& claimed) {
  std::vector<RedisCommand> commands;
  absl::flat_hash_map<std::string, Balance> newest;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = *ops[i];
    const OpResult* result = results[i];
    const bool success = result != nullptr && (result->outcome == Outcome::kApplied ||
                                               result->outcome == Outcome::kReplayed);
    if (!op.idempotency_key.empty()) {
      if (success) {
        commands.push_back({"SET", IdempotencyKey(op),
                            absl::StrCat("D|", op.request_hash, "|", EncodeResult(*result)), "EX",
                            absl::StrCat(options_.idempotency_ttl_s)});
      } else if (claimed[i]) {
        commands.push_back({"EVALSHA", abandon_sha_, "1", IdempotencyKey(op), op.request_hash});
      }
    }
    if (success && result->outcome == Outcome::kApplied) {
      auto [it, inserted] = newest.try_emplace(op.seller_id, result->balance);
      if (!inserted && it->second.version < result->balance.version) it->second = result->balance;
    }
  }
  std::vector<Balance> balances;
  balances.reserve(newest.size());
  for (auto& [seller, balance] : newest) {
    commands.push_back(PutBalanceCommand(balance));
    balances.push_back(std::move(balance));
  }
  if (commands.empty()) return;
  if (!redis_->Pipeline(commands).ok()) RememberPending(balances);
}

std::string Cache::EncodeResult(const OpResult& r) {
  const int64_t expires =
      r.expires_at == absl::InfinitePast() ? -1 : absl::ToUnixMicros(r.expires_at);
  return absl::StrCat(r.entry_seq, "|", r.hold_id, "|", r.amount_yen, "|", r.amount2_yen, "|",
                      r.created ? 1 : 0, "|", r.balance.available_yen, "|", r.balance.held_yen,
                      "|", r.balance.qmoney_yen, "|", r.balance.pending_yen, "|",
                      r.balance.version, "|", static_cast<int>(r.balance.state), "|", expires);
}

std::optional<OpResult> Cache::DecodeResult(absl::string_view text, const std::string& seller_id) {
  std::vector<int64_t> v;
  if (!ParseInts(text, &v) || v.size() != 12) return std::nullopt;
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
  return r;
}

}  // namespace qcash::wallet
