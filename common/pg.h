// A thin, owning wrapper over libpq: connections, results, a bounded pool, and the mapping of
// PostgreSQL failures to what the caller should do.
//
// Error mapping (SQLSTATE -> absl code, reason):
//   connection lost, class 08, 57P0x, 53xxx  -> UNAVAILABLE  DATABASE_UNAVAILABLE  (retry)
//   40001 serialization, 40P01 deadlock      -> ABORTED      DATABASE_CONFLICT     (retry all)
//   23505 unique violation                   -> ALREADY_EXISTS UNIQUE_VIOLATION
//   57014 statement timeout                  -> UNAVAILABLE  DATABASE_TIMEOUT
//   anything else                            -> INTERNAL     DATABASE_ERROR
// The SQLSTATE is kept in the message.
#ifndef QCASH_COMMON_PG_H_
#define QCASH_COMMON_PG_H_

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/mutex.h"

namespace qcash {

// Text-format parameters; nullopt is SQL NULL.
using PgParams = std::vector<std::optional<std::string>>;

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result, &PQclear) {}

  int rows() const { return PQntuples(result_.get()); }
  int columns() const { return PQnfields(result_.get()); }
  bool IsNull(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  absl::string_view Get(int row, int column) const;
  // REQUIRES: the value is a non-NULL integer column.
  int64_t GetInt64(int row, int column) const;
  // A boolean column ('t' / 'f'); NULL reads false.
  bool GetBool(int row, int column) const;
  // The number of rows an UPDATE/INSERT/DELETE affected.
  int64_t affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

// A named statement, prepared on a connection the first time it is used there.
struct PgStatement {
  const char* name;
  const char* sql;
};

// One connection. Not thread-safe: use it from one thread at a time (PgPool hands it out).
class PgConnection {
 public:
  // Connects to `url` (postgresql://... or key=value). `application_name` shows in
  // pg_stat_activity. Errors: UNAVAILABLE when the server cannot be reached.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& url,
                                                               absl::string_view application_name);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Runs one statement with parameters ($1, $2, ...). Errors as mapped above.
  absl::StatusOr<PgResult> Exec(absl::string_view sql, const PgParams& params = {});
  // Runs `statement`, preparing it on this connection first if needed.
  absl::StatusOr<PgResult> Exec(const PgStatement& statement, const PgParams& params);
  // Runs several statements separated by ';' without parameters (migrations).
  absl::Status ExecScript(absl::string_view sql);

  // Runs `statements` in one round trip (libpq pipeline mode) and returns their results in
  // order. The first failure is returned and the statements after it do not run; a
  // transaction opened in the pipeline is then left aborted (the pool's ResetToIdle, or the
  // caller, rolls it back).
  absl::StatusOr<std::vector<PgResult>> Pipeline(
      const std::vector<std::pair<const PgStatement*, PgParams>>& statements);

  // False once the connection is lost; the pool then replaces it.
  bool ok() const;
  // Reads what the server sent while the connection was idle, without waiting: a connection
  // the server closed meanwhile (a shutdown, a failover, an idle timeout) is then no longer
  // ok(). Use it before sending on a connection that sat idle, so that a failure is not taken
  // for one of the statements about to be sent.
  bool CheckAlive();
  // True when no transaction is open (or aborted) on the connection.
  bool idle() const { return PQtransactionStatus(conn_) == PQTRANS_IDLE; }
  // Rolls back a transaction left open by an error; false when the connection is unusable.
  bool ResetToIdle();

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  absl::StatusOr<PgResult> Check(PGresult* result);
  absl::Status Prepare(const PgStatement& statement);

  PGconn* conn_;
  absl::flat_hash_set<std::string> prepared_;
};

// One transaction on one connection: BEGIN when made, ROLLBACK when destroyed without a
// successful Commit(). Every service opens its transactions with this type (or
// WithTransaction below), so that no early return can leave a transaction open on a pooled
// connection.
class PgTransaction {
 public:
  // Sends `begin`: "BEGIN", or e.g. "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".
  // Errors: the database's.
  static absl::StatusOr<PgTransaction> Begin(PgConnection& conn, absl::string_view begin = "BEGIN");
  // A transaction whose BEGIN the caller sent itself, in a pipeline with its first statements
  // (the wallet's batches): from here on it is rolled back unless committed.
  static PgTransaction Adopt(PgConnection& conn) { return PgTransaction(&conn); }
  // The statements such a caller pipelines: kBegin first, then Adopt(); kCommit last, then
  // MarkCommitted() once the pipeline succeeded.
  static constexpr PgStatement kBegin = {"qcash_tx_begin", "BEGIN"};
  static constexpr PgStatement kCommit = {"qcash_tx_commit", "COMMIT"};

  PgTransaction(PgTransaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  PgTransaction& operator=(PgTransaction&&) = delete;
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  ~PgTransaction() { Rollback(); }

  // REQUIRES: open().
  PgConnection& conn() const { return *conn_; }
  bool open() const { return conn_ != nullptr; }

  // Sends COMMIT. Afterwards the transaction is closed whatever the outcome (a failed COMMIT
  // has rolled back). Errors: INTERNAL (TRANSACTION_CLOSED) when already closed; the
  // database's.
  absl::Status Commit();
  // The caller sent COMMIT itself, pipelined with its last statements, and it succeeded.
  void MarkCommitted() { conn_ = nullptr; }
  // Rolls back now, if still open (a lost connection has rolled back on the server).
  void Rollback();

 private:
  explicit PgTransaction(PgConnection* conn) : conn_(conn) {}
  PgConnection* conn_;
};

namespace pg_internal {
template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};
}  // namespace pg_internal

// Runs `body(conn)` inside one transaction: commits when it returns OK, rolls back when it
// returns an error (which is then returned unchanged). `body` returns absl::Status or
// absl::StatusOr<T>; a failed COMMIT's error replaces its value.
template <typename Body>
auto WithTransaction(PgConnection& conn, Body&& body, absl::string_view begin = "BEGIN")
    -> decltype(body(conn)) {
  using Result = decltype(body(conn));
  static_assert(std::is_same_v<Result, absl::Status> || pg_internal::IsStatusOr<Result>::value,
                "the body returns absl::Status or absl::StatusOr<T>");
  absl::StatusOr<PgTransaction> tx = PgTransaction::Begin(conn, begin);
  if (!tx.ok()) return tx.status();
  Result result = body(conn);
  if (!result.ok()) return result;  // ~PgTransaction rolls back
  if (absl::Status committed = tx->Commit(); !committed.ok()) return committed;
  return result;
}

// The absl::Status for a failed libpq result (or nullptr result) on `conn`.
absl::Status PgError(PGconn* conn, const PGresult* result);

// A bounded pool of connections to one database, connected lazily and replaced when lost.
class PgPool {
 public:
  class Lease {
   public:
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = default;
    ~Lease();
    PgConnection* operator->() const { return conn_.get(); }
    PgConnection& operator*() const { return *conn_; }

   private:
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  // REQUIRES: size_max >= 1.
  PgPool(std::string url, std::string application_name, int size_max);
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // A connection, waiting at most `wait` for one to be free.
  // Errors: UNAVAILABLE (DATABASE_UNAVAILABLE when connecting fails, POOL_EXHAUSTED on timeout).
  absl::StatusOr<Lease> Acquire(std::chrono::milliseconds wait = std::chrono::milliseconds(2000));

  const std::string& url() const { return url_; }

 private:
  void Return(std::unique_ptr<PgConnection> conn) ABSL_LOCKS_EXCLUDED(mu_);

  const std::string url_;
  const std::string application_name_;
  const int size_max_;
  Mutex mu_;
  CondVar cv_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + leased
};

// Quotes a text value as an element of a PostgreSQL array literal: "a\"b".
void AppendPgArrayElement(std::string* out, absl::string_view value);

// Builds one PostgreSQL array literal ("{1,2}", "{\"a\",\"b\"}") to pass a column of a batch as
// one parameter, for unnest() on the server.
class PgArrayLiteral {
 public:
  void AddInt(int64_t v) {
    Sep();
    absl::StrAppend(&text_, v);
  }
  void AddText(absl::string_view v) {
    Sep();
    AppendPgArrayElement(&text_, v);
  }
  void AddBool(bool v) {
    Sep();
    text_ += v ? "t" : "f";
  }
  std::string Finish() const { return text_ + "}"; }

 private:
  void Sep() {
    if (text_.size() > 1) text_ += ",";
  }
  std::string text_ = "{";
};

}  // namespace qcash

#endif  // QCASH_COMMON_PG_H_
