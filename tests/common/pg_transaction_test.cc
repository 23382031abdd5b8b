// PgTransaction and WithTransaction (common/pg.h) against a real PostgreSQL: what commits is
// there afterwards, what fails or is abandoned is not, and the connection is idle again
// either way, so a pooled connection never carries a transaction to its next user.
#include <libpq-fe.h>

#include <memory>

#include "common/pg.h"
#include "common/status.h"
#include "gtest/gtest.h"
#include "tests/harness/harness.h"

namespace qcash::testing {
namespace {

class PgTransactionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start(MakeStateDir("pg_transaction_test"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server).release();
    ASSERT_TRUE(server_->CreateDatabase("tx").ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    auto conn = PgConnection::Connect(server_->Url("tx"), "pg_transaction_test");
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
    ASSERT_TRUE(
        conn_->ExecScript("DROP TABLE IF EXISTS t; CREATE TABLE t (v int PRIMARY KEY)").ok());
  }

  int64_t Count() {
    auto r = conn_->Exec("SELECT count(*) FROM t");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->GetInt64(0, 0) : -1;
  }
  bool Idle() { return conn_->idle(); }

  static PostgresServer* server_;
  std::unique_ptr<PgConnection> conn_;
};

PostgresServer* PgTransactionTest::server_ = nullptr;

TEST_F(PgTransactionTest, CommitKeepsTheRows) {
  auto tx = PgTransaction::Begin(*conn_);
  ASSERT_TRUE(tx.ok()) << tx.status();
  ASSERT_TRUE(tx->conn().Exec("INSERT INTO t VALUES (1), (2)").ok());
  EXPECT_TRUE(tx->open());
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_FALSE(tx->open());
  EXPECT_EQ(Count(), 2);
  EXPECT_TRUE(Idle());
  // A second commit is a fault of the caller, said as such.
  absl::Status again = tx->Commit();
  EXPECT_EQ(again.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ReasonOf(again), "TRANSACTION_CLOSED") << again;
}

TEST_F(PgTransactionTest, AbandonedTransactionRollsBack) {
  {
    auto tx = PgTransaction::Begin(*conn_);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->conn().Exec("INSERT INTO t VALUES (1)").ok());
  }  // no Commit: an early return
  EXPECT_EQ(Count(), 0);
  EXPECT_TRUE(Idle());
}

TEST_F(PgTransactionTest, FailedStatementLeavesTheConnectionIdleAfterRollback) {
  {
    auto tx = PgTransaction::Begin(*conn_, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(tx->conn().Exec("INSERT INTO t VALUES (1)").ok());
    auto dup = tx->conn().Exec("INSERT INTO t VALUES (1)");
    EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists);
  }
  EXPECT_EQ(Count(), 0);
  EXPECT_TRUE(Idle());
}

TEST_F(PgTransactionTest, WithTransactionCommitsOnOkAndRollsBackOnError) {
  absl::StatusOr<int> value =
      WithTransaction(*conn_, [](PgConnection& conn) -> absl::StatusOr<int> {
        if (auto r = conn.Exec("INSERT INTO t VALUES (7)"); !r.ok()) return r.status();
        return 7;
      });
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 7);
  EXPECT_EQ(Count(), 1);

  absl::Status refused = WithTransaction(*conn_, [](PgConnection& conn) -> absl::Status {
    if (auto r = conn.Exec("INSERT INTO t VALUES (8)"); !r.ok()) return r.status();
    return absl::FailedPreconditionError("the rule says no");
  });
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Count(), 1);  // 8 was rolled back with the refusal
  EXPECT_TRUE(Idle());
}

TEST_F(PgTransactionTest, FailedCommitIsReturnedInsteadOfTheValue) {
  ASSERT_TRUE(
      conn_
          ->ExecScript("CREATE TABLE IF NOT EXISTS d (v int UNIQUE DEFERRABLE INITIALLY DEFERRED); "
                       "TRUNCATE d")
          .ok());
  absl::StatusOr<int> value =
      WithTransaction(*conn_, [](PgConnection& conn) -> absl::StatusOr<int> {
        // The unique check is deferred to COMMIT, which therefore fails.
        if (auto r = conn.Exec("INSERT INTO d VALUES (1), (1)"); !r.ok()) return r.status();
        return 1;
      });
  EXPECT_EQ(value.status().code(), absl::StatusCode::kAlreadyExists) << value.status();
  auto rows = conn_->Exec("SELECT count(*) FROM d");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->GetInt64(0, 0), 0);
  EXPECT_TRUE(Idle());
}

TEST_F(PgTransactionTest, AdoptedPipelinedTransactionRollsBackUnlessMarkedCommitted) {
  const PgStatement insert = {"tx_test_insert", "INSERT INTO t VALUES ($1::int)"};
  {
    ASSERT_TRUE(conn_->Pipeline({{&PgTransaction::kBegin, {}}, {&insert, {"1"}}}).ok());
    PgTransaction tx = PgTransaction::Adopt(*conn_);
  }
  EXPECT_EQ(Count(), 0);
  {
    ASSERT_TRUE(conn_->Pipeline({{&PgTransaction::kBegin, {}}, {&insert, {"2"}}}).ok());
    PgTransaction tx = PgTransaction::Adopt(*conn_);
    ASSERT_TRUE(tx.conn().Pipeline({{&PgTransaction::kCommit, {}}}).ok());
    tx.MarkCommitted();
  }
  EXPECT_EQ(Count(), 1);
  EXPECT_TRUE(Idle());
}

}  // namespace
}  // namespace qcash::testing
