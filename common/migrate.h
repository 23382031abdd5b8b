// Versioned schema migrations, applied automatically when a service starts.
//
// A service's migrations are SQL files in its `migrations/` folder (0001_*.sql, 0002_*.sql,
// ...), compiled into the binary by qcash_embed_migrations(). ApplyMigrations() takes a
// PostgreSQL advisory lock, so replicas starting together apply each migration once, and runs
// every migration not yet recorded in `schema_migrations` in its own transaction. A migration
// is never edited after it has landed: changes are new migrations.
#ifndef QCASH_COMMON_MIGRATE_H_
#define QCASH_COMMON_MIGRATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/pg.h"

namespace qcash {

struct Migration {
  int64_t version;
  std::string name;
  std::string sql;
};

// Applies the migrations of `migrations` that `conn`'s database lacks, in version order.
// REQUIRES: versions are unique and increasing.
// Errors: the database's, with the failing migration named; a failed migration is rolled back
// and the later ones are not attempted.
absl::Status ApplyMigrations(PgConnection& conn, const std::vector<Migration>& migrations);

}  // namespace qcash

#endif  // QCASH_COMMON_MIGRATE_H_
