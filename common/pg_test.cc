#include "common/pg.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace qcash {
namespace {

TEST(PgTest, ArrayElementsAreQuotedAndEscaped) {
  std::string out;
  AppendPgArrayElement(&out, R"(a"b\c,{d})");
  EXPECT_EQ(out, R"("a\"b\\c,{d}")");
}

TEST(PgTest, UnreachableServerIsUnavailable) {
  // Port 1 on loopback: nothing listens there; the connection is refused at once.
  auto conn = PgConnection::Connect("postgresql://nobody@127.0.0.1:1/none", "qcash-test");
  ASSERT_FALSE(conn.ok());
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReasonOf(conn.status()), "DATABASE_UNAVAILABLE");
}

TEST(PgTest, PoolReportsUnavailableAndRecovers) {
  PgPool pool("postgresql://nobody@127.0.0.1:1/none", "qcash-test", 1);
  for (int i = 0; i < 3; ++i) {  // a failed connect must not leak the pool's only slot
    auto lease = pool.Acquire(std::chrono::milliseconds(100));
    ASSERT_FALSE(lease.ok());
    EXPECT_EQ(ReasonOf(lease.status()), "DATABASE_UNAVAILABLE");
  }
}

}  // namespace
}  // namespace qcash
