#include "common/migrate.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace qcash {
namespace {

// Any constant both replicas agree on; "qcash" in ASCII.
constexpr const char* kLockKey = "7102647787883";

absl::Status ApplyLocked(PgConnection& conn, const std::vector<Migration>& migrations) {
  absl::Status created = conn.ExecScript(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "  version BIGINT PRIMARY KEY,"
      "  name TEXT NOT NULL,"
      "  applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  if (!created.ok()) return created;
  auto applied = conn.Exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!applied.ok()) return applied.status();
  const int64_t current = applied->GetInt64(0, 0);
  int64_t previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return Internal(common::v1::MIGRATION_ORDER,
                      absl::StrCat("migration ", m.name, " out of order"));
    }
    previous = m.version;
    if (m.version <= current) continue;
    // A migration and its schema_migrations row commit together or not at all.
    absl::Status status = WithTransaction(conn, [&m](PgConnection& tx_conn) -> absl::Status {
      // The trailing ";" ends a last statement the file left open, as before.
      if (absl::Status s = tx_conn.ExecScript(absl::StrCat(m.sql, "\n;")); !s.ok()) return s;
      return tx_conn
          .Exec("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                {absl::StrCat(m.version), m.name})
          .status();
    });
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("migration ", m.name, " failed: ", status.message()));
    }
    Log(LogLevel::kInfo, "migration_applied", {{"version", m.version}, {"name", m.name}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyMigrations(PgConnection& conn, const std::vector<Migration>& migrations) {
  auto locked = conn.Exec(absl::StrCat("SELECT pg_advisory_lock(", kLockKey, ")"));
  if (!locked.ok()) return locked.status();
  absl::Status status = ApplyLocked(conn, migrations);
  auto unlocked = conn.Exec(absl::StrCat("SELECT pg_advisory_unlock(", kLockKey, ")"));
  if (status.ok() && !unlocked.ok()) return unlocked.status();
  return status;
}

}  // namespace qcash
