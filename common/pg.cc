#include "common/pg.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"

namespace qcash {
namespace {

// Database round trips by statement (prepared statement names, "sql" for ad-hoc text,
// "pipeline" for a pipelined batch): a bounded set.
metrics::Histogram* DatabaseSeconds() {
  static auto* const histogram = metrics::Registry::Global().NewHistogram(
      "qcash_db_seconds", "PostgreSQL round trips, by statement.", {"statement"});
  return histogram;
}

class DatabaseTimer {
 public:
  explicit DatabaseTimer(std::string statement)
      : statement_(std::move(statement)), start_(absl::Now()) {}
  ~DatabaseTimer() {
    DatabaseSeconds()->Observe({statement_}, absl::ToDoubleSeconds(absl::Now() - start_));
  }

 private:
  const std::string statement_;
  const absl::Time start_;
};

}  // namespace

absl::string_view PgResult::Get(int row, int column) const {
  return absl::string_view(PQgetvalue(result_.get(), row, column),
                           PQgetlength(result_.get(), row, column));
}

int64_t PgResult::GetInt64(int row, int column) const {
  int64_t value = 0;
  if (!absl::SimpleAtoi(Get(row, column), &value)) {
    std::fprintf(stderr, "PgResult::GetInt64: column %d is not an integer\n", column);
    std::abort();
  }
  return value;
}

bool PgResult::GetBool(int row, int column) const {
  return !IsNull(row, column) && Get(row, column) == "t";
}

int64_t PgResult::affected() const {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(result_.get()), &n) ? n : 0;
}

absl::Status PgError(PGconn* conn, const PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = result ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  absl::StripTrailingAsciiWhitespace(&message);
  if (state == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return Unavailable(common::v1::DATABASE_UNAVAILABLE,
                       absl::StrCat("database unavailable: ", message));
  }
  const absl::string_view sqlstate(state);
  const std::string text = absl::StrCat("[", sqlstate, "] ", message);
  if (absl::StartsWith(sqlstate, "08") || absl::StartsWith(sqlstate, "53") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return Unavailable(common::v1::DATABASE_UNAVAILABLE, text);
  }
  if (sqlstate == "40001" || sqlstate == "40P01")
    return Aborted(common::v1::DATABASE_CONFLICT, text);
  if (sqlstate == "23505") {
    return Error(absl::StatusCode::kAlreadyExists, common::v1::UNIQUE_VIOLATION, text);
  }
  if (sqlstate == "57014") return Unavailable(common::v1::DATABASE_TIMEOUT, text);
  return Internal(common::v1::DATABASE_ERROR, text);
}

namespace {

// The server's notices and warnings (e.g. "relation ... already exists, skipping") as structured
// log lines instead of libpq's default, which prints raw text to stderr.
void LogNotice(void* /*arg*/, const PGresult* result) {
  const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  const bool warning = severity != nullptr && std::strcmp(severity, "WARNING") == 0;
  Log(warning ? LogLevel::kWarn : LogLevel::kDebug, "database_notice",
      {{"severity", severity != nullptr ? severity : ""},
       {"message", message != nullptr ? message : ""}});
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& url, absl::string_view application_name) {
  // Our defaults come first; anything the URL says overrides them.
  const std::string app(application_name);
  const char* keywords[] = {"connect_timeout", "application_name", "keepalives_idle", "dbname",
                            nullptr};
  const char* values[] = {"3", app.c_str(), "30", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr)
    return Unavailable(common::v1::DATABASE_UNAVAILABLE, "out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    absl::StripTrailingAsciiWhitespace(&message);
    PQfinish(conn);
    return Unavailable(common::v1::DATABASE_UNAVAILABLE, absl::StrCat("cannot connect: ", message));
  }
  PQsetNoticeReceiver(conn, LogNotice, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

bool PgConnection::CheckAlive() {
  if (!ok()) return false;
  // Non-blocking: reads only what is already there. A server that closed the connection left
  // a FATAL message and then the end of the stream; libpq returns after reading the message,
  // and sees the end (CONNECTION_BAD) on the next read.
  for (int read = 0; read < 2; ++read) {
    if (PQconsumeInput(conn_) == 0) return false;
  }
  return ok();
}

bool PgConnection::ResetToIdle() {
  if (!ok()) return false;
  const PGTransactionStatusType state = PQtransactionStatus(conn_);
  if (state == PQTRANS_IDLE) return true;
  if (state != PQTRANS_INTRANS && state != PQTRANS_INERROR) return false;
  return ExecScript("ROLLBACK").ok();
}

absl::StatusOr<PgResult> PgConnection::Check(PGresult* result) {
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(result);
  absl::Status error = PgError(conn_, result);
  PQclear(result);
  return error;
}

namespace {

struct ParamArrays {
  std::vector<const char*> values;
  explicit ParamArrays(const PgParams& params) {
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.has_value() ? p->c_str() : nullptr);
  }
};

}  // namespace

absl::StatusOr<PgResult> PgConnection::Exec(absl::string_view sql, const PgParams& params) {
  DatabaseTimer timer("sql");
  const std::string text(sql);
  ParamArrays arrays(params);
  return Check(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                            arrays.values.data(), nullptr, nullptr, 0));
}

absl::Status PgConnection::Prepare(const PgStatement& statement) {
  if (prepared_.contains(statement.name)) return absl::OkStatus();
  auto prepared = Check(PQprepare(conn_, statement.name, statement.sql, 0, nullptr));
  if (!prepared.ok()) return prepared.status();
  prepared_.insert(statement.name);
  return absl::OkStatus();
}

absl::StatusOr<PgResult> PgConnection::Exec(const PgStatement& statement, const PgParams& params) {
  if (absl::Status s = Prepare(statement); !s.ok()) return s;
  DatabaseTimer timer(statement.name);
  ParamArrays arrays(params);
  return Check(PQexecPrepared(conn_, statement.name, static_cast<int>(params.size()),
                              arrays.values.data(), nullptr, nullptr, 0));
}

absl::Status PgConnection::ExecScript(absl::string_view sql) {
  const std::string text(sql);
  return Check(PQexec(conn_, text.c_str())).status();
}

absl::StatusOr<std::vector<PgResult>> PgConnection::Pipeline(
    const std::vector<std::pair<const PgStatement*, PgParams>>& statements) {
  for (const auto& [statement, params] : statements) {
    if (absl::Status s = Prepare(*statement); !s.ok()) return s;
  }
  DatabaseTimer timer("pipeline");
  if (PQenterPipelineMode(conn_) != 1) return PgError(conn_, nullptr);
  bool sent = true;
  for (const auto& [statement, params] : statements) {
    ParamArrays arrays(params);
    if (PQsendQueryPrepared(conn_, statement->name, static_cast<int>(params.size()),
                            arrays.values.data(), nullptr, nullptr, 0) != 1) {
      sent = false;
      break;
    }
  }
  if (!sent || PQpipelineSync(conn_) != 1) {
    absl::Status error = PgError(conn_, nullptr);
    PQexitPipelineMode(conn_);
    return error;
  }
  std::vector<PgResult> results;
  results.reserve(statements.size());
  absl::Status first_error;
  // One result (then a NULL) per statement, then the sync's PGRES_PIPELINE_SYNC.
  for (size_t i = 0; i < statements.size(); ++i) {
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      if (first_error.ok()) first_error = PgError(conn_, nullptr);
      break;
    }
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      results.emplace_back(result);
    } else {
      if (first_error.ok() && status != PGRES_PIPELINE_ABORTED) {
        first_error = PgError(conn_, result);
      }
      PQclear(result);
    }
    while ((result = PQgetResult(conn_)) != nullptr) PQclear(result);  // the NULL after it
  }
  for (;;) {  // drain up to the sync point
    PGresult* result = PQgetResult(conn_);
    if (result == nullptr) {
      if (!ok()) break;
      continue;
    }
    const bool sync = PQresultStatus(result) == PGRES_PIPELINE_SYNC;
    PQclear(result);
    if (sync) break;
  }
  PQexitPipelineMode(conn_);
  if (!first_error.ok()) return first_error;
  if (!ok()) return PgError(conn_, nullptr);
  return results;
}

PgPool::PgPool(std::string url, std::string application_name, int size_max)
    : url_(std::move(url)), application_name_(std::move(application_name)), size_max_(size_max) {}

PgPool::Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_));
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire(std::chrono::milliseconds wait) {
  {
    MutexLock lock(&mu_);
    const bool ready =
        cv_.WaitFor(&mu_, absl::FromChrono(wait), [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !idle_.empty() || open_ < size_max_;
        });
    if (!ready) {
      return Unavailable(common::v1::POOL_EXHAUSTED, "no database connection became free in time");
    }
    if (!idle_.empty()) {
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      // One the server closed while it sat in the pool (a restart, a failover: the new
      // primary is elsewhere) is replaced here, not handed to a caller to fail on.
      if (conn->CheckAlive()) return Lease(this, std::move(conn));
    } else {
      ++open_;  // reserve a slot, connect outside the lock
    }
  }
  auto conn = PgConnection::Connect(url_, application_name_);
  if (!conn.ok()) {
    MutexLock lock(&mu_);
    --open_;
    cv_.Signal();
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  // A ROLLBACK round trip, when one is needed, happens before taking the pool's lock.
  const bool reusable = conn->ResetToIdle();
  MutexLock lock(&mu_);
  if (reusable) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;  // dropped; the next Acquire connects afresh
  }
  cv_.Signal();
}

absl::StatusOr<PgTransaction> PgTransaction::Begin(PgConnection& conn, absl::string_view begin) {
  if (absl::Status s = conn.ExecScript(begin); !s.ok()) {
    (void)conn.ResetToIdle();
    return s;
  }
  return PgTransaction(&conn);
}

absl::Status PgTransaction::Commit() {
  if (conn_ == nullptr) {
    return Internal(common::v1::TRANSACTION_CLOSED, "commit of a closed transaction");
  }
  PgConnection* conn = conn_;
  conn_ = nullptr;
  absl::Status status = conn->ExecScript("COMMIT");
  if (!status.ok()) (void)conn->ResetToIdle();
  return status;
}

void PgTransaction::Rollback() {
  if (conn_ == nullptr) return;
  PgConnection* conn = conn_;
  conn_ = nullptr;
  (void)conn->ResetToIdle();
}

void AppendPgArrayElement(std::string* out, absl::string_view value) {
  out->push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace qcash
