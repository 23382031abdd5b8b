// The tamper-evident journal (DESIGN.md section 8, docs/LEDGER.md "Tamper-evident journal"):
// a real wallet writes a mixed history over gRPC, then rows are changed underneath it as a
// superuser would (the harness's PostgreSQL user is one) and VerifyJournal / `qcashctl verify`
// must name exactly the first broken entry; an anchor reveals a chain rewritten consistently;
// and migration 0003 gives entries written before the chain their hashes, byte for byte as the
// ledger computes them.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/migrate.h"
#include "common/pg.h"
#include "qcash/wallet/v1/wallet.grpc.pb.h"
#include "services/wallet/ledger.h"
#include "services/wallet/store.h"
#include "services/wallet/verify.h"
#include "tests/harness/grpc_calls.h"
#include "tests/harness/harness.h"
#include "tests/harness/wallet_environment.h"

namespace qcash::wallet {
const std::vector<Migration>& Migrations();
}

namespace qcash::testing {
namespace {

namespace pb = ::qcash::wallet::v1;
using wallet::ChainFault;
using wallet::VerifyReport;

WalletOnlyEnvironment* env = nullptr;  // PostgreSQL, Redis and a real wallet process
int metrics_port = 0;                  // the wallet's /metrics

// Runs qcashctl with `args`; returns its exit status and output.
std::pair<int, std::string> Qcashctl(const std::vector<std::string>& args) {
  static int n = 0;
  Process::Spec spec;
  spec.argv = {QCASHCTL_BINARY};
  for (const auto& a : args) spec.argv.push_back(a);
  spec.log_file = absl::StrCat(env->stack->dir, "/qcashctl-verify-", n++, ".out");
  auto p = Process::Start(spec);
  EXPECT_TRUE(p.ok());
  if (!p.ok()) return {-1, ""};
  auto exit = (*p)->WaitExit(std::chrono::seconds(60));
  EXPECT_TRUE(exit.ok());
  std::ifstream in(spec.log_file);
  std::stringstream out;
  out << in.rdbuf();
  return {exit.ok() ? WEXITSTATUS(*exit) : -1, out.str()};
}

class JournalVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = PgConnection::Connect(env->stack->wallet_db_url, "journal_verify_test");
    ASSERT_TRUE(conn.ok()) << conn.status();
    db_ = std::move(*conn);
    Sql("CREATE TEMP TABLE saved_journal (LIKE journal)");
    Sql("CREATE TEMP TABLE saved_wallets (LIKE wallets)");
  }

  // Every test leaves the journal as it found it: sound, and the books balanced.
  void TearDown() override {
    const VerifyReport report = Verify();
    EXPECT_TRUE(report.sound()) << report.ToString();
    absl::Status audit = AuditWalletLedger(env->stack->wallet_db_url);
    EXPECT_TRUE(audit.ok()) << audit;
  }

  PgResult Sql(const std::string& sql, const PgParams& params = {}) {
    auto r = db_->Exec(sql, params);
    EXPECT_TRUE(r.ok()) << r.status() << "\n" << sql;
    return r.ok() ? std::move(*r) : *db_->Exec("SELECT 1 WHERE false");
  }

  VerifyReport Verify(std::optional<absl::Time> at = std::nullopt) {
    wallet::VerifyOptions options;
    options.page_rows = 7;  // several pages even for a small journal
    options.head_batch = 3;
    options.at = at;
    auto report = wallet::VerifyJournal(*db_, options);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : VerifyReport{};
  }

  // A history with every kind of entry: charge, spend, hold + capture for less (with the
  // remainder returned), hold + release, a points conversion, and (when `close`) the close's
  // forfeiture. Returns the seller's last seq.
  int64_t MixedHistory(const std::string& seller, bool close) {
    pb::OpenWalletRequest open;
    open.set_seller_id(seller);
    open.set_idempotency_key(NewKey());
    pb::OpenWalletResponse opened;
    EXPECT_TRUE(env->Call("settlement", &pb::WalletService::Stub::OpenWallet, open, &opened).ok());
    Credit(seller, 10'000, pb::CREDIT_SOURCE_CHARGE, "payment");
    Credit(seller, 300, pb::CREDIT_SOURCE_POINTS_CONVERSION, "points");
    pb::SpendRequest spend;
    spend.set_seller_id(seller);
    spend.set_idempotency_key(NewKey());
    spend.set_amount_yen(1'200);
    spend.set_product(pb::AD_PRODUCT_TIME_SALE);
    spend.set_booking_reference("予約 \"A\", 1;2:3");
    pb::SpendResponse spent;
    EXPECT_TRUE(env->Call("adbooking", &pb::WalletService::Stub::Spend, spend, &spent).ok());
    const int64_t first_hold = Hold(seller, 3'000);
    pb::CaptureHoldRequest capture;
    capture.set_seller_id(seller);
    capture.set_idempotency_key(NewKey());
    capture.set_hold_id(first_hold);
    capture.set_amount_yen(2'000);
    pb::CaptureHoldResponse captured;
    EXPECT_TRUE(
        env->Call("adbooking", &pb::WalletService::Stub::CaptureHold, capture, &captured).ok());
    const int64_t second_hold = Hold(seller, 500);
    pb::ReleaseHoldRequest release;
    release.set_seller_id(seller);
    release.set_idempotency_key(NewKey());
    release.set_hold_id(second_hold);
    pb::ReleaseHoldResponse released;
    EXPECT_TRUE(
        env->Call("adbooking", &pb::WalletService::Stub::ReleaseHold, release, &released).ok());
    if (close) {
      Hold(seller, 100);  // forfeited with the rest
      pb::CloseWalletRequest close_request;
      close_request.set_seller_id(seller);
      close_request.set_idempotency_key(NewKey());
      close_request.set_reason("退店, \"closed\"");
      pb::CloseWalletResponse closed;
      EXPECT_TRUE(
          env->Call("settlement", &pb::WalletService::Stub::CloseWallet, close_request, &closed)
              .ok());
    }
    return LastSeq(seller);
  }

  void Credit(const std::string& seller, int64_t yen, pb::CreditSource source,
              const std::string& caller) {
    pb::CreditRequest credit;
    credit.set_seller_id(seller);
    credit.set_idempotency_key(NewKey());
    credit.set_amount_yen(yen);
    credit.set_source(source);
    credit.set_reference(absl::StrCat("ref-", NewKey()));
    pb::CreditResponse credited;
    const grpc::Status s = env->Call(caller, &pb::WalletService::Stub::Credit, credit, &credited);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  int64_t Hold(const std::string& seller, int64_t yen) {
    pb::HoldRequest hold;
    hold.set_seller_id(seller);
    hold.set_idempotency_key(NewKey());
    hold.set_amount_yen(yen);
    hold.set_product(pb::AD_PRODUCT_GROUP_BUYING);
    hold.set_booking_reference("application-7");
    pb::HoldResponse held;
    EXPECT_TRUE(env->Call("adbooking", &pb::WalletService::Stub::Hold, hold, &held).ok());
    return held.hold_id();
  }

  int64_t LastSeq(const std::string& seller) {
    PgResult r = Sql("SELECT last_seq FROM wallets WHERE seller_id = $1", {seller});
    return r.rows() == 1 ? r.GetInt64(0, 0) : 0;
  }

  // The seq of the seller's first entry of `type`.
  int64_t SeqOf(const std::string& seller, wallet::EntryType type) {
    PgResult r = Sql("SELECT min(seq) FROM journal WHERE seller_id = $1 AND entry_type = $2",
                     {seller, absl::StrCat(static_cast<int>(type))});
    return r.rows() == 1 && !r.IsNull(0, 0) ? r.GetInt64(0, 0) : 0;
  }

  // Keeps the seller's journal and wallet rows, to put them back after tampering.
  void Save(const std::string& seller) {
    Sql("INSERT INTO saved_journal SELECT * FROM journal WHERE seller_id = $1", {seller});
    Sql("INSERT INTO saved_wallets SELECT * FROM wallets WHERE seller_id = $1", {seller});
  }

  // As a superuser: statements with the journal's append-only triggers off for this session.
  void Tamper(const std::vector<std::pair<std::string, PgParams>>& statements) {
    Sql("SET session_replication_role = replica");
    for (const auto& [sql, params] : statements) Sql(sql, params);
    Sql("SET session_replication_role = origin");
  }

  void Restore(const std::string& seller) {
    Tamper({{"DELETE FROM journal WHERE seller_id = $1", {seller}},
            {"INSERT INTO journal SELECT * FROM saved_journal WHERE seller_id = $1", {seller}},
            {"UPDATE wallets w SET last_seq = s.last_seq, chain_head = s.chain_head "
             "FROM saved_wallets s WHERE w.seller_id = $1 AND s.seller_id = w.seller_id",
             {seller}}});
  }

  // The report names exactly one broken entry.
  static void ExpectOneBreak(const VerifyReport& report, const std::string& seller, int64_t seq,
                             ChainFault fault) {
    EXPECT_FALSE(report.sound());
    EXPECT_EQ(report.broken_sellers, 1);
    ASSERT_EQ(report.breaks.size(), 1u) << report.ToString();
    EXPECT_EQ(report.breaks[0].seller_id, seller) << report.ToString();
    EXPECT_EQ(report.breaks[0].seq, seq) << report.ToString();
    EXPECT_EQ(report.breaks[0].fault, fault) << report.ToString();
  }

  std::unique_ptr<PgConnection> db_;
};

TEST_F(JournalVerifyTest, MixedHistoryIsSoundAndTheDigestsAgree) {
  const std::string open_seller = NewSeller(), closed_seller = NewSeller();
  const int64_t open_last = MixedHistory(open_seller, false);
  const int64_t closed_last = MixedHistory(closed_seller, true);
  EXPECT_GE(open_last, 8);
  EXPECT_GE(closed_last, 10);
  const VerifyReport report = Verify(absl::Now());
  EXPECT_TRUE(report.sound()) << report.ToString();
  EXPECT_GE(report.entries, open_last + closed_last);
  EXPECT_GE(report.sellers, 2);
  EXPECT_EQ(report.heads_sellers, report.sellers);
  ASSERT_TRUE(report.at.has_value());
  // Nothing is in flight: the heads as of now are the wallets' heads.
  EXPECT_EQ(report.at->digest_hex, report.heads_digest);
  EXPECT_EQ(report.at->entries, report.entries);
  EXPECT_EQ(report.heads_digest.size(), 64u);

  auto [code, out] = Qcashctl({"verify", env->stack->wallet_db_url});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("journal: sound"), std::string::npos) << out;
  EXPECT_NE(out.find(report.heads_digest), std::string::npos) << out;
}

TEST_F(JournalVerifyTest, AnEditedAmountIsNamed) {
  const std::string seller = NewSeller();
  MixedHistory(seller, false);
  const int64_t seq = SeqOf(seller, wallet::EntryType::kAdSpend);
  ASSERT_GT(seq, 0);
  Save(seller);
  Tamper({{"UPDATE journal SET amount_yen = amount_yen + 1 WHERE seller_id = $1 AND seq = $2",
           {seller, absl::StrCat(seq)}}});
  ExpectOneBreak(Verify(), seller, seq, ChainFault::kHashMismatch);
  auto [code, out] = Qcashctl({"verify", env->stack->wallet_db_url});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find(absl::StrCat("seller ", seller, " seq ", seq, ": content edited")),
            std::string::npos)
      << out;
  Restore(seller);
}

TEST_F(JournalVerifyTest, AnEditedRowWithAFreshHashBreaksTheNextLink) {
  const std::string seller = NewSeller();
  MixedHistory(seller, false);
  const int64_t seq = SeqOf(seller, wallet::EntryType::kAdSpend);
  ASSERT_GT(seq, 1);
  ASSERT_LT(seq, LastSeq(seller));
  Save(seller);
  // The row is edited and given the hash that fits its new content and its predecessor: the
  // row itself now checks, the next one (chained to the old hash) does not.
  Tamper({{"UPDATE journal SET amount_yen = amount_yen + 1 WHERE seller_id = $1 AND seq = $2",
           {seller, absl::StrCat(seq)}},
          {"UPDATE journal j SET hash = qcash_journal_entry_hash((SELECT p.hash FROM journal p "
           "WHERE p.seller_id = $1 AND p.seq = $2 - 1), j) WHERE j.seller_id = $1 AND j.seq = $2",
           {seller, absl::StrCat(seq)}}});
  ExpectOneBreak(Verify(), seller, seq + 1, ChainFault::kHashMismatch);
  Restore(seller);
}

TEST_F(JournalVerifyTest, ADeletedLastEntryIsNamed) {
  const std::string seller = NewSeller();
  const int64_t last = MixedHistory(seller, false);
  Save(seller);
  Tamper({{"DELETE FROM journal WHERE seller_id = $1 AND seq = $2", {seller, absl::StrCat(last)}}});
  ExpectOneBreak(Verify(), seller, last, ChainFault::kMissingEntry);
  Restore(seller);
}

TEST_F(JournalVerifyTest, AMovedHeadAndAGapAreNamed) {
  const std::string seller = NewSeller();
  const int64_t last = MixedHistory(seller, false);
  Save(seller);
  Tamper({{"UPDATE wallets SET chain_head = sha256('x') WHERE seller_id = $1", {seller}}});
  ExpectOneBreak(Verify(), seller, last, ChainFault::kHeadMismatch);
  Restore(seller);
  Tamper({{"DELETE FROM journal WHERE seller_id = $1 AND seq = 3", {seller}}});
  ExpectOneBreak(Verify(), seller, 3, ChainFault::kMissingEntry);
  Restore(seller);
  // 0003 made the column NOT NULL: a superuser would have to drop that first.
  Sql("ALTER TABLE journal ALTER COLUMN hash DROP NOT NULL");
  Tamper({{"UPDATE journal SET hash = NULL WHERE seller_id = $1 AND seq = 2", {seller}}});
  ExpectOneBreak(Verify(), seller, 2, ChainFault::kHashNull);
  Restore(seller);
  Sql("ALTER TABLE journal ALTER COLUMN hash SET NOT NULL");
}

TEST_F(JournalVerifyTest, EditedLotAmountsAreNamed) {
  const std::string seller = NewSeller();
  MixedHistory(seller, false);
  const int64_t seq = SeqOf(seller, wallet::EntryType::kAdCapture);
  ASSERT_GT(seq, 0);
  PgResult lots = Sql("SELECT cardinality(lot_ids) FROM journal WHERE seller_id = $1 AND seq = $2",
                      {seller, absl::StrCat(seq)});
  ASSERT_EQ(lots.rows(), 1);
  ASSERT_GE(lots.GetInt64(0, 0), 1);  // the capture names the lots it consumed
  Save(seller);
  Tamper(
      {{"UPDATE journal SET lot_amounts[1] = lot_amounts[1] - 1 "
        "WHERE seller_id = $1 AND seq = $2",
        {seller, absl::StrCat(seq)}}});
  ExpectOneBreak(Verify(), seller, seq, ChainFault::kHashMismatch);
  Restore(seller);
}

// A superuser who rewrites a whole chain consistently (every hash from the edit on, and the
// head) leaves a chain that verifies: only an anchor kept outside reveals it.
TEST_F(JournalVerifyTest, OnlyAnAnchorRevealsAChainRewrittenConsistently) {
  const std::string seller = NewSeller();
  MixedHistory(seller, false);
  const absl::Time anchored_at = absl::Now();
  auto anchor = wallet::HeadsDigestAt(*db_, anchored_at);
  ASSERT_TRUE(anchor.ok()) << anchor.status();
  Save(seller);
  const int64_t seq = SeqOf(seller, wallet::EntryType::kAdSpend);
  Tamper({{"UPDATE journal SET amount_yen = amount_yen - 1, available_after = available_after + 1 "
           "WHERE seller_id = $1 AND seq = $2",
           {seller, absl::StrCat(seq)}},
          {"DO $$ DECLARE r journal; head bytea; BEGIN "
           "FOR r IN SELECT * FROM journal WHERE seller_id = '" +
               seller +
               "' ORDER BY seq LOOP "
               "head := qcash_journal_entry_hash(head, r); "
               "UPDATE journal SET hash = head WHERE seller_id = r.seller_id AND seq = r.seq; "
               "END LOOP; "
               "UPDATE wallets SET chain_head = head WHERE seller_id = '" +
               seller + "'; END $$",
           {}}});
  const VerifyReport report = Verify(anchored_at);
  EXPECT_TRUE(report.sound()) << report.ToString();
  ASSERT_TRUE(report.at.has_value());
  EXPECT_NE(report.at->digest_hex, anchor->digest_hex);
  const std::string at_text =
      absl::FormatTime(absl::RFC3339_full, anchored_at, absl::UTCTimeZone());
  auto [code, out] = Qcashctl(
      {"verify", "--anchor", anchor->digest_hex, "--at", at_text, env->stack->wallet_db_url});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("anchor: DIFFERS"), std::string::npos) << out;
  Restore(seller);
  // Put back, the journal matches its anchor again.
  auto [code2, out2] = Qcashctl(
      {"verify", "--anchor", anchor->digest_hex, "--at", at_text, env->stack->wallet_db_url});
  EXPECT_EQ(code2, 0) << out2;
  EXPECT_NE(out2.find("anchor: matches"), std::string::npos) << out2;
}

// An anchor of an earlier instant stays checkable after more entries: the digest as of that
// instant ignores what came later, while the current one moves on.
TEST_F(JournalVerifyTest, AnOldAnchorIsReproducedAsOfItsInstant) {
  const std::string seller = NewSeller();
  MixedHistory(seller, false);
  const absl::Time t1 = absl::Now();
  auto anchor = wallet::HeadsDigestAt(*db_, t1);
  ASSERT_TRUE(anchor.ok()) << anchor.status();
  Credit(seller, 1'000, pb::CREDIT_SOURCE_CHARGE, "payment");
  const VerifyReport report = Verify(t1);
  ASSERT_TRUE(report.at.has_value());
  EXPECT_EQ(report.at->digest_hex, anchor->digest_hex);
  EXPECT_EQ(report.at->entries, anchor->entries);
  EXPECT_NE(report.heads_digest, anchor->digest_hex);
  EXPECT_EQ(report.entries, anchor->entries + 1);
}

// The wallet exports anchors (services/wallet/anchor.h): a logged one, taken after a history,
// is the digest the verifier computes as of its instant, qcashctl accepts it, and /metrics
// carries its figures.
TEST_F(JournalVerifyTest, TheWalletsAnchorsAreCheckable) {
  const std::string seller = NewSeller();
  MixedHistory(seller, false);
  const absl::Time written = absl::Now();
  std::string digest, at_text;
  absl::Time at;
  static const std::regex kAnchor(
      R"re("event":"journal_anchor".*"digest":"([0-9a-f]{64})".*"at":"([^"]+)")re");
  for (int attempt = 0; attempt < 300 && digest.empty(); ++attempt) {  // up to 30 s
    std::ifstream in(env->stack->dir + "/wallet.log");
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, kAnchor)) continue;
      absl::Time t;
      if (absl::ParseTime(absl::RFC3339_full, m[2].str(), &t, nullptr) && t > written) {
        digest = m[1];
        at_text = m[2];
        at = t;
        break;
      }
    }
    if (digest.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(digest.empty()) << "no journal_anchor logged after the history";
  const VerifyReport report = Verify(at);
  ASSERT_TRUE(report.at.has_value());
  EXPECT_EQ(report.at->digest_hex, digest);
  auto [code, out] =
      Qcashctl({"verify", "--anchor", digest, "--at", at_text, env->stack->wallet_db_url});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("anchor: matches"), std::string::npos) << out;

  httplib::Client client("127.0.0.1", metrics_port);
  auto response = client.Get("/metrics");
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 200);
  for (const char* expected :
       {"qcash_wallet_journal_anchor_entries ", "qcash_wallet_journal_anchor_sellers ",
        "qcash_wallet_journal_anchor_timestamp_seconds ",
        "qcash_wallet_journal_anchor_info{digest_prefix=\""}) {
    EXPECT_NE(response->body.find(expected), std::string::npos) << expected;
  }
  // One info series: the latest anchor's.
  const size_t first = response->body.find("qcash_wallet_journal_anchor_info{");
  EXPECT_EQ(response->body.find("qcash_wallet_journal_anchor_info{", first + 1), std::string::npos);
}

// ------------------------------------------------------------------------ migration 0003

constexpr char kJapanese[] = "注文 \"ＡＢＣ\", 返金; 10:00 'x' \\ é";

// A journal written by 0001's code (no hashes) is unsound after 0002 (hash NULL); after 0003
// every chain verifies, the ledger continues the backfilled chains, and the SQL's hashes are
// the C++ ones byte for byte.
TEST_F(JournalVerifyTest, MigrationBackfillsEntriesWrittenBeforeTheChain) {
  ASSERT_TRUE(env->stack->pg->CreateDatabase("chain_migration").ok());
  auto conn = PgConnection::Connect(env->stack->pg->Url("chain_migration"), "journal_verify_test");
  ASSERT_TRUE(conn.ok()) << conn.status();
  PgConnection& db = **conn;
  const std::vector<Migration>& all = wallet::Migrations();
  ASSERT_GE(all.size(), 3u);
  ASSERT_TRUE(ApplyMigrations(db, {all[0]}).ok());

  // 0001-era rows, as its store wrote them: a charge, a spend and a pending hold, with text
  // that needs every escape; a second seller with one credit; a wallet with no entries.
  ASSERT_TRUE(db.ExecScript(absl::StrCat(
                                "INSERT INTO wallets (seller_id, available_yen, held_yen, version,"
                                " last_seq) VALUES ('old-1', 500, 200, 3, 3), ('old-2', 100, 0, 1, "
                                "1), ('old-3', 0, 0, 0, 0);"
                                "INSERT INTO journal (seller_id, seq, entry_type, debit_account,"
                                " credit_account, amount_yen, available_after, held_after, "
                                "qmoney_after, pending_after, product, reference, hold_id, caller,"
                                " created_at) VALUES "
                                "('old-1', 1, 1, 101, 1, 1000, 1000, 0, 0, 0, 0, $x$",
                                kJapanese,
                                "$x$, 0, 'pay\"ment', '2026-03-31 23:59:59.123456+09'),"
                                "('old-1', 2, 3, 1, 103, 300, 700, 0, 0, 0, 4, 'booking,1', 0,"
                                " 'adbooking', '2026-04-01 00:00:00.000001+09'),"
                                "('old-1', 3, 4, 1, 2, 200, 500, 200, 0, 0, 1, 'app', 0,"
                                " 'adbooking', '2026-04-01 00:00:01+09'),"
                                "('old-2', 1, 2, 102, 1, 100, 100, 0, 0, 0, 0, 'conv', 0,"
                                " 'points', '2026-04-02 12:00:00+09');"
                                "INSERT INTO holds (seller_id, hold_id, amount_yen, product, "
                                "reference, expires_at) VALUES ('old-1', 3, 200, 1, 'app', "
                                "'2030-01-01 00:00:00+00');"))
                  .ok());
  ASSERT_TRUE(ApplyMigrations(db, {all[0], all[1]}).ok());
  auto before = wallet::VerifyJournal(db);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE(before->sound());
  ASSERT_FALSE(before->breaks.empty());
  EXPECT_EQ(before->breaks[0].seller_id, "old-1");
  EXPECT_EQ(before->breaks[0].fault, ChainFault::kHashNull);

  // The rest of the migrations (as a wallet applies them before it writes), then the ledger
  // continues old-1's backfilled chain.
  ASSERT_TRUE(ApplyMigrations(db, all).ok());
  wallet::Op spend;
  spend.type = wallet::OpType::kSpend;
  spend.seller_id = "old-1";
  spend.caller = "adbooking";
  spend.idempotency_key = "migration-spend";
  spend.amount_yen = 100;
  spend.product = wallet::AdProduct::kTimeSale;
  spend.reference = "after the migrations";
  ASSERT_TRUE(wallet::ValidateOp(spend).ok());
  spend.request_hash = wallet::RequestHash(spend);
  auto applied = wallet::ApplyBatch(db, {&spend});
  ASSERT_TRUE(applied.ok()) << applied.status();
  ASSERT_EQ((*applied)[0].outcome, wallet::Outcome::kApplied);

  auto after = wallet::VerifyJournal(db);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_TRUE(after->sound()) << after->ToString();
  EXPECT_EQ(after->entries, 5);
  EXPECT_EQ(after->sellers, 2);

  // The first row, built here from what was inserted: the SQL's hash is EntryHash()'s.
  wallet::JournalEntry first;
  first.seller_id = "old-1";
  first.seq = 1;
  first.type = wallet::EntryType::kCharge;
  first.debit = wallet::Account::kProviderClearing;
  first.credit = wallet::Account::kSellerAvailable;
  first.amount_yen = 1000;
  first.available_after_yen = 1000;
  first.reference = kJapanese;
  first.caller = "pay\"ment";
  absl::TimeZone jst = absl::FixedTimeZone(9 * 3600);
  first.created_at =
      absl::FromCivil(absl::CivilSecond(2026, 3, 31, 23, 59, 59), jst) + absl::Microseconds(123456);
  auto stored = db.Exec(
      "SELECT encode(hash, 'hex'), encode(qcash_journal_canonical(j), 'hex') FROM journal j "
      "WHERE seller_id = 'old-1' AND seq = 1");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(absl::HexStringToBytes(stored->Get(0, 1)), wallet::CanonicalEntry(first));
  EXPECT_EQ(stored->Get(0, 0), absl::BytesToHexString(wallet::EntryHash("", first)));

  // Entries with lots (written by the C++ ledger): the SQL function gives their hashes too.
  auto same = db.Exec(
      "SELECT count(*) FILTER (WHERE qcash_journal_entry_hash(p.hash, j) = j.hash), count(*) "
      "FROM journal j LEFT JOIN journal p ON p.seller_id = j.seller_id AND p.seq = j.seq - 1 "
      "WHERE cardinality(j.lot_ids) > 0");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_GE(same->GetInt64(0, 1), 1);
  EXPECT_EQ(same->GetInt64(0, 0), same->GetInt64(0, 1));

  // The ledger goes on from the backfilled heads.
  spend.idempotency_key = "migration-spend-2";
  spend.request_hash = wallet::RequestHash(spend);
  applied = wallet::ApplyBatch(db, {&spend});
  ASSERT_TRUE(applied.ok()) << applied.status();
  auto later = wallet::VerifyJournal(db);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_TRUE(later->sound()) << later->ToString();
  EXPECT_EQ(later->entries, 6);
  // And the column is required now.
  EXPECT_FALSE(db.Exec("INSERT INTO journal (seller_id, seq, entry_type, debit_account, "
                       "credit_account, amount_yen, available_after, held_after, qmoney_after, "
                       "pending_after) VALUES ('old-3', 1, 1, 101, 1, 1, 1, 0, 0, 0)")
                   .ok());
}

}  // namespace
}  // namespace qcash::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Anchors every second, of the database's clock itself (nothing is in flight when a test
  // looks at one).
  qcash::testing::metrics_port = qcash::testing::FreePort();
  qcash::testing::env = new qcash::testing::WalletOnlyEnvironment(
      "journal_verify",
      {{"QCASH_WALLET_ANCHOR_INTERVAL_S", "1"},
       {"QCASH_WALLET_ANCHOR_SETTLE_S", "0"},
       {"QCASH_METRICS_LISTEN", absl::StrCat("127.0.0.1:", qcash::testing::metrics_port)}});
  ::testing::AddGlobalTestEnvironment(qcash::testing::env);
  return RUN_ALL_TESTS();
}
