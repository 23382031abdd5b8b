// The wallet's use of Redis: the balance cache and the fast path of idempotency
// (DESIGN.md section 4). Neither is ever the only copy: PostgreSQL holds the balances and the
// durable idempotency records, so every method here degrades to "not cached" when Redis is
// down, and the callers go to PostgreSQL.
//
// Keys carry the seller as a hash tag, so one seller's keys share a Redis Cluster slot:
//   qcash:wallet:bal:{S}                  "version|state|available|held|qmoney|pending"
//   qcash:wallet:idem:{S}:<caller>:<key>  "P|<hash>" while in flight,
//                                         "D|<hash>|<result>" once committed (24 h)
#ifndef QCASH_SERVICES_WALLET_CACHE_H_
#define QCASH_SERVICES_WALLET_CACHE_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "common/redis.h"
#include "services/wallet/ledger.h"

namespace qcash::wallet {

class Cache {
 public:
  struct Options {
    int64_t balance_ttl_s = 600;         // bounds staleness if an invalidation is ever lost
    int64_t idempotency_ttl_s = 86'400;  // at least 24 hours (DESIGN.md section 4)
    int64_t in_flight_ttl_ms = 10'000;   // longer than any call's deadline
    size_t pending_writes_max = 100'000;
  };

  // What Redis knows about an op's idempotency key before the op runs.
  enum class Claim {
    kClaimed,      // the key was free and is now marked in flight by us
    kInFlight,     // another call with this key and request is running: ABORTED, retry
    kDone,         // committed before: answer with `stored`
    kReused,       // the key belongs to a different request
    kUnavailable,  // Redis is down or the op has no key: PostgreSQL decides
  };
  struct ClaimResult {
    Claim claim = Claim::kUnavailable;
    OpResult stored;  // kDone
  };

  Cache(RedisClient* redis, Options options);
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // The cached balance, or nullopt on a miss or when Redis is unavailable.
  std::optional<Balance> GetBalance(const std::string& seller_id);

  // Stores balances unless Redis holds a newer version of them (a Lua compare-and-set on the
  // version, so a slow writer can never overwrite a newer balance with an older one). Writes
  // that fail are kept and retried by FlushPending().
  void PutBalances(const std::vector<Balance>& balances);

  // Claims the idempotency keys of `ops`, one round trip for all.
  std::vector<ClaimResult> BeginBatch(const std::vector<const Op*>& ops);

  // After the ledger answered: committed results become replayable answers, and the in-flight
  // markers of refused ops are removed so that they can be retried; balances of applied ops
  // are cached. `results[i]` is nullptr when op i failed. `claimed[i]` says whether we marked
  // op i in flight. One round trip for all.
  void FinishBatch(const std::vector<const Op*>& ops, const std::vector<const OpResult*>& results,
                   const std::vector<bool>& claimed);

  // Retries cache writes that failed while Redis was down. Returns how many remain.
  size_t FlushPending();

  // Text form of a committed result, as stored in Redis (exposed for tests).
  static std::string EncodeResult(const OpResult& result);
  static std::optional<OpResult> DecodeResult(absl::string_view text, const std::string& seller_id);

 private:
  std::string BalanceKey(const std::string& seller_id) const;
  std::string IdempotencyKey(const Op& op) const;
  RedisCommand PutBalanceCommand(const Balance& balance) const;
  void RememberPending(const std::vector<Balance>& balances);

  RedisClient* const redis_;
  const Options options_;
  const std::string put_balance_sha_;
  const std::string begin_sha_;
  const std::string abandon_sha_;

  std::mutex mu_;
  absl::flat_hash_map<std::string, Balance> pending_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_pending_{false};
};

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_CACHE_H_
