// What the two files of OrderStore (store.cc: orders; store_notifications_qsign.cc:
// notifications, Q-sign rows, request keys) share: how times travel to and from SQL.
// Internal to the store; nothing else includes it.
#ifndef QCASH_SERVICES_PAYMENT_STORE_SQL_H_
#define QCASH_SERVICES_PAYMENT_STORE_SQL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/pg.h"

// Times travel as microseconds since the epoch, both ways.
#define QCASH_US(column) "(extract(epoch FROM " column ") * 1000000)::bigint"
#define QCASH_TS(param) "('epoch'::timestamptz + " param "::bigint * interval '1 microsecond')"

namespace qcash::payment::store_sql {

inline std::string Micros(absl::Time t) { return absl::StrCat(absl::ToUnixMicros(t)); }

inline std::optional<std::string> MicrosOrNull(std::optional<absl::Time> t) {
  if (!t.has_value()) return std::nullopt;
  return Micros(*t);
}

inline absl::Time TimeAt(const PgResult& r, int row, int column) {
  if (r.IsNull(row, column)) return absl::InfinitePast();
  const int64_t us = r.GetInt64(row, column);
  return us == 0 ? absl::InfinitePast() : absl::FromUnixMicros(us);
}

inline std::string Int(int64_t v) { return absl::StrCat(v); }

}  // namespace qcash::payment::store_sql

#endif  // QCASH_SERVICES_PAYMENT_STORE_SQL_H_
