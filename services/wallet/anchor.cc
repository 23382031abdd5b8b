#include "services/wallet/anchor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/metrics.h"

namespace qcash::wallet {
namespace {

metrics::Gauge* AnchorEntries() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_wallet_journal_anchor_entries",
      "Journal entries the latest anchor covers (the sum of every seller's head seq).");
  return gauge;
}

metrics::Gauge* AnchorSellers() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_wallet_journal_anchor_sellers", "Sellers with a chain in the latest anchor.");
  return gauge;
}

metrics::Gauge* AnchorAt() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_wallet_journal_anchor_timestamp_seconds",
      "The instant the latest anchor's heads digest is of (qcashctl verify --at).");
  return gauge;
}

metrics::Gauge* AnchorInfo() {
  static auto* const gauge = metrics::Registry::Global().NewGauge(
      "qcash_wallet_journal_anchor_info",
      "1, labelled with the first 16 hex digits of the latest anchor's heads digest.",
      {"digest_prefix"});
  return gauge;
}

metrics::Counter* AnchorFailures() {
  static auto* const counter = metrics::Registry::Global().NewCounter(
      "qcash_wallet_journal_anchor_failures_total", "Anchors that could not be taken.");
  return counter;
}

}  // namespace

JournalAnchorJob::JournalAnchorJob(Options options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

JournalAnchorJob::~JournalAnchorJob() { Stop(); }

void JournalAnchorJob::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<HeadsAnchor> JournalAnchorJob::AnchorOnce() {
  if (conn_ == nullptr || !conn_->CheckAlive()) {
    conn_.reset();
    auto conn = PgConnection::Connect(options_.database_url, "qcash-wallet-anchor");
    if (!conn.ok()) return conn.status();
    // One read over wallets and an index probe per seller: bounded anyway.
    if (absl::Status set = (*conn)->ExecScript("SET statement_timeout = '60s'"); !set.ok()) {
      return set;
    }
    conn_ = std::move(*conn);
  }
  // The database's clock, which dates the entries (store.cc), not this host's.
  auto now = conn_->Exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint");
  if (!now.ok()) return now.status();
  const absl::Time at = absl::FromUnixMicros(now->GetInt64(0, 0)) - options_.settle;
  auto anchor = HeadsDigestAt(*conn_, at);
  if (!anchor.ok()) return anchor.status();
  AnchorEntries()->Set({}, static_cast<double>(anchor->entries));
  AnchorSellers()->Set({}, static_cast<double>(anchor->sellers));
  AnchorAt()->Set({}, absl::ToDoubleSeconds(at - absl::UnixEpoch()));
  AnchorInfo()->SetOnly({anchor->digest_hex.substr(0, 16)}, 1);
  Log(LogLevel::kInfo, "journal_anchor",
      {{"digest", anchor->digest_hex},
       {"at", absl::FormatTime(absl::RFC3339_full, at, absl::UTCTimeZone())},
       {"sellers", anchor->sellers},
       {"entries", anchor->entries}});
  return anchor;
}

void JournalAnchorJob::Loop() {
  for (;;) {
    if (auto anchor = AnchorOnce(); !anchor.ok()) {
      AnchorFailures()->Add({});
      Log(LogLevel::kWarn, "journal_anchor_failed",
          {{"error", std::string(anchor.status().message())}});
      conn_.reset();
    }
    MutexLock lock(&mu_);
    if (cv_.WaitFor(&mu_, options_.interval,
                    [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; })) {
      return;
    }
  }
}

}  // namespace qcash::wallet
