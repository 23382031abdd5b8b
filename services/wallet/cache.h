// The wallet's use of Redis: the balance cache and the fast path of idempotency
// (DESIGN.md section 4). Neither is ever the only copy: PostgreSQL holds the balances and the
// durable idempotency records, so every method here degrades to "not cached" when Redis is
// down, and the callers go to PostgreSQL.
//
// Keys carry the seller as a hash tag, so one seller's keys share a Redis Cluster slot:
//   qcash:wallet:bal:{S}                  "version|state|available|held|qmoney|pending|master|mac"
//                                         (master: RedisClient::master_tag() when written)
//   qcash:wallet:idem:{S}:<caller>:<key>  "P|<hash>|<expires unix ms>/<instance>|mac" while
//                                         in flight,
//                                         "D|<hash>|<result>|mac" once committed (24 h)
//
// Trust (DESIGN.md section 7): whoever can write to Redis must not be able to move money or
// lock a seller out. Every record carries an HMAC-SHA256 (128 bits kept) under the replay key
// (QCASH_WALLET_REPLAY_KEY_FILE), which only the wallet holds and Redis never sees. The MAC
// covers the record's kind and every field that decides the answer: caller, seller and
// idempotency key (so a record cannot be moved to another key), the request hash and the
// stored result, or the seller and the balance. A record whose MAC does not verify (forged,
// corrupted, or written under a previous key after a rotation) is a miss: PostgreSQL decides,
// as when Redis is down, and the record is counted in qcash_wallet_cache_unverified_total and
// logged (sampled). So a forged "done" cannot answer a spend or a credit, a forged "different
// request" cannot refuse one, and a forged balance is never shown.
//
// In-flight markers: an authentic marker answers ABORTED ("retry") only until the expiry it
// carries under its MAC (in_flight_ttl_ms after it was written, the same as its Redis TTL). A
// marker without a valid MAC, or past that expiry, decides nothing: the call goes to
// PostgreSQL, whose unique idempotency record settles any real race. So an attacker who keeps
// re-writing a marker (forged, or an authentic one copied back after its time) cannot block a
// key for longer than one in-flight TTL; a genuine marker's own TTL is the bound it always was.
//
// A marker also names the wallet process that wrote it (a random instance id made when the
// process starts), and only that process's own markers answer "in flight": a marker of
// another instance decides nothing (kForeign), and PostgreSQL's unique idempotency record
// settles the race if that instance really is still applying the key. So a restarted wallet is
// never blocked by the markers of the process it replaced (killed mid-batch, its markers would
// otherwise answer ABORTED until their TTL: issue 13), and a marker of a live replica costs
// only a trip to PostgreSQL. Within one process a seller's operations run on one lane in
// order, so a marker of our own instance is in flight here: the same key twice in one batch.
//
// Balance reads (issue 17): a gRPC callback thread never waits on Redis. ReadBalances hands the
// seller ids and a callback to the cache's one reader thread, which takes every lookup queued
// since its last round trip and sends their distinct keys as one MGET (several in one pipeline
// beyond kReadMgetKeysMax), verifies each record as ReadBalance does, and runs the callbacks.
// Under load many concurrent reads share a round trip (qcash_wallet_cache_read_batch_keys
// shows how many keys each carried); alone, a read costs what one GET did.
//
// What the MAC does not stop, and need not: an attacker can delete records (calls then go to
// PostgreSQL: slower, never wrong) or write back an older authentic balance of the same seller
// (a balance read may then be stale until the next change or the TTL, as any cached read may;
// spending never reads the cache).
#ifndef QCASH_SERVICES_WALLET_CACHE_H_
#define QCASH_SERVICES_WALLET_CACHE_H_

#include <openssl/evp.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "common/clock.h"
#include "common/mutex.h"
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
    // The MAC key of every record (see above): at least kReplayKeyBytesMin bytes, kept out of
    // Redis. Wallet::Start refuses a shorter one.
    std::string replay_key;
  };
  static constexpr size_t kReplayKeyBytesMin = 32;

  // What Redis knows about an op's idempotency key before the op runs.
  enum class Claim {
    kClaimed,      // the key was free and is now marked in flight by us
    kInFlight,     // another call with this key and request is running: ABORTED, retry
    kDone,         // committed before: answer with `stored`
    kReused,       // the key belongs to a different request
    kUnavailable,  // Redis is down or the op has no key: PostgreSQL decides
    kUnverified,   // Redis held a record whose MAC did not verify, or a stale marker:
                   // PostgreSQL decides
    kForeign,      // an authentic in-flight marker of another wallet process (or one that no
                   // longer exists): PostgreSQL decides
  };
  struct ClaimResult {
    Claim claim = Claim::kUnavailable;
    OpResult stored;  // kDone
  };

  // One answer per seller id of a lookup, in order: the cached balance, or nullopt on a miss,
  // when Redis is unavailable, or while a cache write of that seller's balance waits for
  // FlushPending (Redis may hold an older one).
  using CachedBalances = std::vector<std::optional<Balance>>;
  using BalancesCallback = absl::AnyInvocable<void(CachedBalances) &&>;

  // The reader's bounds: keys per MGET; keys per round trip (the lookups queued beyond it wait
  // for the next one; a lookup is never split); keys waiting in the queue (a lookup beyond it
  // is answered at once as unavailable: PostgreSQL answers, and the read pool's own bound
  // holds there).
  static constexpr size_t kReadMgetKeysMax = 1'000;
  static constexpr size_t kReadRoundTripKeysMax = 10'000;
  static constexpr size_t kReadQueueKeysMax = 100'000;

  // What the reader has done since the cache was made.
  struct ReadStats {
    int64_t round_trips = 0;  // pipelines sent to Redis (each of one or more MGETs)
    int64_t keys = 0;         // distinct keys asked in them
  };

  // `clock` dates in-flight markers and judges their expiry; it outlives the cache.
  // Starts the reader thread (ReadBalances).
  // REQUIRES: options.replay_key.size() >= kReplayKeyBytesMin.
  Cache(RedisClient* redis, Options options, const Clock* clock);
  // As above with a given instance id (tests: two "processes" on one Redis).
  Cache(RedisClient* redis, Options options, const Clock* clock, std::string instance);
  ~Cache();  // StopReads()
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Hands the lookup of `seller_ids` to the reader thread and returns at once. The reader
  // sends the keys of every lookup queued since its last round trip together (one MGET per
  // kReadMgetKeysMax distinct keys, all in one pipeline), then runs `done` on the reader
  // thread with one answer per id (CachedBalances). A record that does not verify (forged, or
  // written to another master) is a miss and is deleted (DESIGN.md section 7); Redis down is
  // a miss for every id, bounded by the client's timeout and breaker (section 4). When the
  // queue is full or the reader has stopped, `done` runs at once on the calling thread with
  // every answer nullopt. Each answer is counted in qcash_wallet_cache_lookups_total.
  // REQUIRES: `done` returns quickly and never waits on I/O or on another lookup: it runs on
  // the one thread that serves every lookup. Ids are valid seller ids (IsValidSellerId).
  void ReadBalances(std::vector<std::string> seller_ids, BalancesCallback done)
      ABSL_LOCKS_EXCLUDED(read_mu_);

  // The cached balance (as ReadBalances answers it), waiting for the reader: for callers
  // that may block. REQUIRES: not called from a ReadBalances callback (it would wait on
  // itself).
  std::optional<Balance> GetBalance(const std::string& seller_id);

  // Answers the lookups already queued, then stops the reader thread; later lookups are
  // answered at once as unavailable. Idempotent.
  void StopReads() ABSL_LOCKS_EXCLUDED(read_mu_);

  ReadStats read_stats() const;

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

  // The records as stored, with their MACs, and what a stored value means for `op` at `now`
  // (exposed for tests; BeginBatch and GetBalance use them).
  std::string DoneRecord(const Op& op, const OpResult& result) const;
  std::string InFlightRecord(const Op& op, absl::Time expires) const;
  std::string BalanceRecord(const Balance& balance) const;
  ClaimResult ReadClaim(const Op& op, absl::string_view value, absl::Time now) const;
  // The balance in `value` when its MAC verifies for `seller_id` and it was written to the
  // master Redis has now (RedisClient::master_tag(): a record from before a Sentinel failover
  // may miss writes the old master lost). `from_another_master` (optional) tells that case
  // from an unverified record.
  std::optional<Balance> ReadBalance(const std::string& seller_id, absl::string_view value,
                                     bool* from_another_master = nullptr) const;

 private:
  std::string BalanceKey(const std::string& seller_id) const;
  std::string IdempotencyKey(const Op& op) const;
  RedisCommand PutBalanceCommand(const Balance& balance) const;
  // HMAC-SHA256 under the replay key over `kind` and the length-prefixed `fields`, as hex of
  // its first 16 bytes.
  std::string Mac(absl::string_view kind, std::initializer_list<absl::string_view> fields) const;
  bool MacMatches(absl::string_view mac, absl::string_view kind,
                  std::initializer_list<absl::string_view> fields) const;
  void RememberPending(const std::vector<Balance>& balances) ABSL_LOCKS_EXCLUDED(mu_);

  // A lookup waiting for the reader.
  struct ReadRequest {
    std::vector<std::string> seller_ids;
    BalancesCallback done;
  };
  void ReadLoop() ABSL_LOCKS_EXCLUDED(read_mu_);
  // One round trip for `requests`, then their callbacks, then the removal of records that
  // did not verify.
  void ServeReads(std::vector<ReadRequest> requests) ABSL_LOCKS_EXCLUDED(mu_);

  RedisClient* const redis_;
  const Options options_;
  const std::string instance_;  // this process's id in its in-flight markers (hex, no '|')
  const Clock* const clock_;
  // The HMAC-SHA256 context keyed with the replay key (Mac() copies it; never changed after
  // construction, so copies may be made from any thread).
  struct MacCtxFree {
    void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> mac_template_;
  const std::string put_balance_sha_;
  const std::string abandon_sha_;
  const std::string delete_if_sha_;

  Mutex mu_;
  absl::flat_hash_map<std::string, Balance> pending_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_pending_{false};

  Mutex read_mu_;
  CondVar read_cv_;
  std::deque<ReadRequest> read_queue_ ABSL_GUARDED_BY(read_mu_);
  size_t read_queue_keys_ ABSL_GUARDED_BY(read_mu_) = 0;
  bool read_stopping_ ABSL_GUARDED_BY(read_mu_) = false;
  std::atomic<int64_t> read_round_trips_{0};
  std::atomic<int64_t> read_keys_{0};
  std::thread reader_;  // ReadLoop; started by the constructor, joined by StopReads
};

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_CACHE_H_
