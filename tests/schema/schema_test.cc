// Keeps the schema ready to be distributed by seller (docs/SCALING.md): Citus places a row by
// its distribution column, so a key that does not lead with seller_id cannot be enforced on one
// shard, a foreign key between two sellers' rows would cross shards, and a statement that names
// no seller runs on every shard. Against the real schema: every service's migrations are applied
// to a harness PostgreSQL and the catalog is asked; the statements are read from the services'
// sources. Each rule has an explicit exception list with its reason; an exception that no longer
// happens fails too, so the lists shrink as the schema is fixed.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/migrate.h"
#include "common/pg.h"
#include "gtest/gtest.h"
#include "tests/harness/harness.h"

namespace qcash::wallet {
const std::vector<Migration>& Migrations();
}
namespace qcash::payment {
const std::vector<Migration>& Migrations();
}
namespace qcash::points {
const std::vector<Migration>& Migrations();
}

namespace qcash::testing {
namespace {

namespace fs = std::filesystem;

struct Service {
  std::string name;  // also its folder under services/ and its database here
  const std::vector<Migration>* migrations;
};

const std::vector<Service>& Services() {
  static const auto* const kServices = new std::vector<Service>{
      {"wallet", &qcash::wallet::Migrations()},
      {"payment", &qcash::payment::Migrations()},
      {"points", &qcash::points::Migrations()},
  };
  return *kServices;
}

// ------------------------------------------------------------------------------ exceptions
//
// Keys of per-seller tables (primary keys and unique indexes) that do not start with seller_id,
// as "<service>.<table>.<index>(<columns>)". Each is a uniqueness that is global today; under
// Citus it must become seller-scoped (or the table a different kind of table): docs/SCALING.md,
// "What the schema still needs".
const std::map<std::string, std::string>& KeyExceptions() {
  static const auto* const kExceptions = new std::map<std::string, std::string>{
      {"wallet.idempotency_keys.idempotency_keys_pkey(caller,idem_key)",
       "a caller's key is unique across sellers (reusing it for another seller is refused as "
       "IDEMPOTENCY_KEY_REUSED); scoping it per seller changes that contract and the wallet's "
       "lookup (wallet_read_records), so it waits for the move to Citus"},
      {"payment.charge_orders.charge_orders_pkey(order_id)",
       "providers' notifications and the reconciler name an order by its id alone; the fix is "
       "an order id that carries its seller (or a reference lookup order_id -> seller_id)"},
      {"payment.order_transitions.order_transitions_pkey(order_id,seq)",
       "follows charge_orders (keyed by order_id)"},
      {"points.point_events.point_events_pkey(caller,event_id)",
       "an upstream event id is unique per caller across sellers, so a replay is recognised "
       "wherever it comes from (0001_points.sql); sharded, it becomes a reference-table "
       "dedupe or the event id gains a seller prefix upstream"},
      {"points.conversions.conversions_conversion_id_key(conversion_id)",
       "conversion ids are answered to callers and looked up alone; globally unique by "
       "construction, to become (seller_id, conversion_id)"},
      {"points.conversions.conversions_wallet_key_key(wallet_key)",
       "the idempotency key the points service sends the wallet; globally unique by "
       "construction, to become (seller_id, wallet_key)"},
  };
  return *kExceptions;
}

// Foreign keys from or to a per-seller table whose columns do not pair seller_id with seller_id.
const std::map<std::string, std::string>& ForeignKeyExceptions() {
  static const auto* const kExceptions = new std::map<std::string, std::string>{
      {"payment.order_transitions.order_transitions_order_id_fkey(order_id)->charge_orders("
       "order_id)",
       "charge_orders is keyed by order_id alone (see the key exceptions); both rows always "
       "belong to the same seller, which the order's seller_id copied into the transition "
       "shows, but the key does not say so yet"},
  };
  return *kExceptions;
}

// Statements on per-seller tables that name no seller, as "<file>:<statement>" (the
// PgStatement's name, else the C++ constant holding the text, else the text itself).
const std::map<std::string, std::string>& StatementExceptions() {
  static const auto* const kExceptions = new std::map<std::string, std::string>{
      // The wallet.
      {"services/wallet/store.cc:wallet_due_holds",
       "the expiry sweeper: every seller's due holds (a background scan, run on every shard)"},
      {"services/wallet/store.cc:wallet_read_records",
       "idempotency records by (caller, idem_key): see the key exception of idempotency_keys"},
      {"services/wallet/store.cc:SELECT count(*) FROM holds WHERE state = 1",
       "the pending-holds gauge: counts every seller's"},
      {"services/wallet/audit.cc:kBalancesMatchJournal", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kPlatformBalances",
       "the ledger audit: the platform accounts' balances are sums over every seller's journal"},
      {"services/wallet/audit.cc:kSellerTotal", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kJournalContinuity", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kNewestEntryMatches", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kHeldMatchesHolds", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kUnknownAccounts", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kLotsMatchBalances", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kOpenLotsHaveOrigins", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kLotsMatchConsumption", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kEntriesMatchLots", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kOpeningLots", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:kDebtChain", "the ledger audit: operator-wide"},
      {"services/wallet/audit.cc:SELECT count(*) FROM journal",
       "the ledger audit: counts the journal"},
      {"services/wallet/verify.cc:kJournalRows",
       "the journal verifier: every seller's chain, read through a cursor"},
      {"services/wallet/verify.cc:kJournalRowsWithoutDebt",
       "the journal verifier, on a journal from before migration 0006: every seller's chain"},
      {"services/wallet/verify.cc:kWalletHeads",
       "the heads digest (the journal's anchor): every seller's chain head"},
      {"services/wallet/verify.cc:kHeadsAtSelect",
       "the heads digest as of an instant: every seller's last entry then"},
      {"services/wallet/verify.cc:wallet_verify_heads_without_journal",
       "the journal verifier: wallets claiming entries the journal lacks"},
      {"services/wallet/books.cc:kJournalRangeSql",
       "the issuer's books: the platform's figures are sums over every seller's journal"},
      {"services/wallet/books.cc:kNextEntrySql",
       "the issuer's books: the next hour with entries of any seller (checkpoints)"},
      // The payment service: orders are named by their id (see the key exception of
      // charge_orders), and the reconciler and the operators look across sellers.
      {"services/payment/store.cc:payment_load_order", "by order id (provider notifications)"},
      {"services/payment/store.cc:payment_load_order_for_update", "by order id"},
      {"services/payment/store.cc:payment_apply_change", "by order id (every state change)"},
      {"services/payment/store.cc:payment_reschedule", "by order id (the reconciler)"},
      {"services/payment/store.cc:payment_set_attention", "by order id (operators)"},
      {"services/payment/store.cc:payment_load_transitions", "by order id"},
      {"services/payment/store.cc:payment_claim_due", "the reconciler's queue: every seller's"},
      {"services/payment/store.cc:payment_backlog", "the backlog gauges: operator-wide"},
      {"services/payment/store.cc:payment_list_stuck", "`qcashctl orders stuck`: operator-wide"},
      // Settlement reconciliation (issue 16): a provider's report names orders by our order id
      // (its merchant reference) or the provider's payment id, and the overdue check and the
      // summary are operator-wide.
      {"services/payment/settlement_store.cc:settlement_order_by_reference",
       "a settlement line names its order by id (the merchant reference)"},
      {"services/payment/settlement_store.cc:settlement_order_by_payment",
       "a settlement line names its order by the provider's payment id"},
      {"services/payment/settlement_store.cc:settlement_settle_order", "by order id"},
      {"services/payment/settlement_store.cc:settlement_order_settlement",
       "by order id (GetChargeOrder's settlement fields)"},
      {"services/payment/settlement_store.cc:settlement_open_overdue",
       "the overdue check: every seller's paid orders not settled"},
      {"services/payment/settlement_store.cc:settlement_summary",
       "`qcashctl settlements summary`: per provider, operator-wide"},
      // Reversals (issue 16): the reconciler's queue of claw-backs and its gauge.
      {"services/payment/store_reversals.cc:payment_claim_due_reversals",
       "the reconciler's queue of reversals to apply: every seller's"},
      {"services/payment/store_reversals.cc:payment_reversal_backlog",
       "the unapplied-reversals gauges: operator-wide"},
      {"services/payment/store_notifications_qsign.cc:payment_delete_old_notifications",
       "retention of provider notifications (not per-seller) looks up their orders by id"},
      // The points service.
      {"services/points/store.cc:points_event_hashes",
       "replay detection by (caller, event_id): see the key exception of point_events"},
      {"services/points/store.cc:points_stale_conversions",
       "the background step that finishes conversions left pending by a crash: every seller's"},
  };
  return *kExceptions;
}

// ------------------------------------------------------------------------- the statements

// One SQL statement found in a source file.
struct Statement {
  std::string where;  // "<file>:<name>"
  std::string sql;
};

bool IsIdentifierChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// `text` with every run of whitespace one space, trimmed, at most `max` characters.
std::string Collapsed(const std::string& text, size_t max) {
  std::string out;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.substr(0, max);
}

bool StartsSql(const std::string& text) {
  static const std::regex kStart(R"(^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b)", std::regex::icase);
  return std::regex_search(text, kStart);
}

// The statements of one C++ source: its string literals (ordinary and raw), joined where only
// whitespace, comments, identifiers (macros such as QCASH_ORDER_COLUMNS, constants in a StrCat),
// `::`, parentheses and commas stand between them, split where a literal starts a statement.
// Each is named by the literal before it when that is a lower_case name (a PgStatement's
// name), else by the constant it initialises (`kName =` / `kName[] =`), else by its own text
// (never by a line number, which every edit above it would move).
std::vector<Statement> StatementsIn(const std::string& file, const std::string& src) {
  struct Piece {
    std::string text;
    size_t at;
  };
  std::vector<std::vector<Piece>> runs;
  std::vector<Piece> run;
  auto end_run = [&] {
    if (!run.empty()) runs.push_back(std::move(run));
    run.clear();
  };
  size_t i = 0;
  const size_t n = src.size();
  while (i < n) {
    const char c = src[i];
    if (c == '/' && i + 1 < n && src[i + 1] == '/') {
      i = src.find('\n', i);
      if (i == std::string::npos) i = n;
    } else if (c == '/' && i + 1 < n && src[i + 1] == '*') {
      i = src.find("*/", i + 2);
      i = i == std::string::npos ? n : i + 2;
    } else if (c == 'R' && i + 1 < n && src[i + 1] == '"' &&
               (i == 0 || !IsIdentifierChar(src[i - 1]))) {
      const size_t open = src.find('(', i + 2);
      if (open == std::string::npos) break;
      const std::string close = absl::StrCat(")", src.substr(i + 2, open - i - 2), "\"");
      const size_t end = src.find(close, open + 1);
      if (end == std::string::npos) break;
      run.push_back({src.substr(open + 1, end - open - 1), i});
      i = end + close.size();
    } else if (c == '"') {
      std::string text;
      size_t j = i + 1;
      for (; j < n && src[j] != '"'; ++j) {
        if (src[j] == '\\' && j + 1 < n) {
          ++j;
          text += src[j] == 'n' ? '\n' : src[j];
        } else {
          text += src[j];
        }
      }
      run.push_back({text, i});
      i = j + 1;
    } else if (c == '\'') {
      // A character literal ('"' must not open a string), or a digit separator.
      if (i > 0 && IsIdentifierChar(src[i - 1])) {
        ++i;
      } else {
        size_t j = i + 1;
        if (j < n && src[j] == '\\') ++j;
        j = src.find('\'', j + 1);
        i = j == std::string::npos ? n : j + 1;
      }
    } else if (IsIdentifierChar(c) || std::isspace(static_cast<unsigned char>(c)) || c == '(' ||
               c == ')' || c == ',' || (c == ':' && i + 1 < n && src[i + 1] == ':')) {
      if (!run.empty() && IsIdentifierChar(c) && !IsIdentifierChar(src[i - 1])) {
        run.back().text += " ";  // an identifier between literals stands for some SQL text
      }
      i += (c == ':') ? 2 : 1;
    } else {
      end_run();
      ++i;
    }
  }
  end_run();

  static const std::regex kName("^[a-z][a-z0-9_]*$");
  static const std::regex kConstant(R"((\w+)\s*(\[\])?\s*=\s*\{?[\w:\s(]*$)");
  std::vector<Statement> statements;
  for (const auto& pieces : runs) {
    std::string label;
    for (size_t p = 0; p < pieces.size(); ++p) {
      if (!StartsSql(pieces[p].text)) {
        if (std::regex_match(pieces[p].text, kName)) label = pieces[p].text;
        continue;
      }
      // The statement runs on until a name that is followed by the next statement.
      std::string sql = pieces[p].text;
      while (p + 1 < pieces.size() && !(std::regex_match(pieces[p + 1].text, kName) &&
                                        p + 2 < pieces.size() && StartsSql(pieces[p + 2].text))) {
        sql += pieces[++p].text;
      }
      if (label.empty()) {
        const size_t at = pieces.front().at;
        const size_t from = at > 200 ? at - 200 : 0;
        std::smatch m;
        const std::string before = src.substr(from, at - from);
        if (std::regex_search(before, m, kConstant)) {
          label = m[1];
        } else {
          label = Collapsed(sql, 80);  // a statement inline in a call: its text names it
        }
      }
      statements.push_back({absl::StrCat(file, ":", label), sql});
      label.clear();
    }
  }
  return statements;
}

// What a statement does wrong with the per-seller tables `tables`: each table it reads or
// changes must be narrowed to named sellers (seller_id = $n, = ANY($n), IN/tuple-IN over an
// unnest of parameters), and each it inserts into must be given seller_id. Empty: nothing.
// A static reading, with two known limits: the filter is looked for in the whole statement (a
// statement that names its sellers for one table is taken to name them for all: the services'
// joins between per-seller tables are on seller_id), and of a comma-separated FROM list only
// the first table is seen.
std::vector<std::string> SellerProblems(const std::string& sql,
                                        const std::set<std::string>& tables) {
  static const std::regex kReference(R"(\b(FROM|JOIN|INTO|UPDATE)\s+(\w+))", std::regex::icase);
  static const std::regex kInsertColumns(R"(^\s*(?:AS\s+\w+\s*)?\(([^)]*)\))", std::regex::icase);
  static const std::regex kFilter(
      R"(\b(\w+\.)?seller_id\s*(=\s*(ANY\s*\(\s*)?\$\d|IN\s*\(\s*SELECT\s+\w+\s+FROM\s+unnest\s*\(\s*\$\d))"
      R"(|\(\s*(\w+\.)?seller_id\s*,[^)]*\)\s*IN\s*\(\s*SELECT\s+\*\s+FROM\s+unnest\s*\(\s*\$\d)",
      std::regex::icase);
  std::vector<std::string> problems;
  const bool filtered = std::regex_search(sql, kFilter);
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), kReference);
       it != std::sregex_iterator(); ++it) {
    const std::string table = (*it)[2];
    if (tables.count(table) == 0) continue;
    if (absl::AsciiStrToUpper((*it)[1].str()) == "INTO") {
      std::smatch columns;
      const std::string rest = it->suffix();
      if (!std::regex_search(rest, columns, kInsertColumns) ||
          !std::regex_search(columns[1].str(), std::regex(R"(\bseller_id\b)"))) {
        problems.push_back(absl::StrCat("inserts into ", table, " without seller_id"));
      }
    } else if (!filtered) {
      problems.push_back(absl::StrCat("reads or changes ", table, " without naming its sellers"));
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------ the suite

class SchemaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = PostgresServer::Start(MakeStateDir("schema_test"));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server).release();
    for (const Service& s : Services()) {
      ASSERT_TRUE(server_->CreateDatabase(s.name).ok());
      auto conn = PgConnection::Connect(server_->Url(s.name), "schema_test");
      ASSERT_TRUE(conn.ok()) << conn.status();
      ASSERT_TRUE(ApplyMigrations(**conn, *s.migrations).ok()) << s.name;
      (*connections_)[s.name] = std::move(*conn);
    }
  }
  static void TearDownTestSuite() {
    connections_->clear();
    delete server_;
    server_ = nullptr;
  }

  static PgConnection& Db(const std::string& service) { return *connections_->at(service); }

  // Every table of `service` with a seller_id column.
  static std::set<std::string> PerSellerTables(const std::string& service) {
    auto r = Db(service).Exec(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'seller_id' "
        "AND NOT a.attisdropped WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')");
    EXPECT_TRUE(r.ok()) << r.status();
    std::set<std::string> tables;
    for (int i = 0; r.ok() && i < r->rows(); ++i) tables.insert(std::string(r->Get(i, 0)));
    return tables;
  }

  // The per-seller tables and the views over them (a view that reads per-seller rows has
  // seller_id too): what the statement check judges.
  static std::set<std::string> PerSellerRelations(const std::string& service) {
    auto r = Db(service).Exec(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'seller_id' "
        "AND NOT a.attisdropped WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')");
    EXPECT_TRUE(r.ok()) << r.status();
    std::set<std::string> relations;
    for (int i = 0; r.ok() && i < r->rows(); ++i) relations.insert(std::string(r->Get(i, 0)));
    return relations;
  }

  static PostgresServer* server_;
  static std::map<std::string, std::unique_ptr<PgConnection>>* connections_;
};

PostgresServer* SchemaTest::server_ = nullptr;
std::map<std::string, std::unique_ptr<PgConnection>>* SchemaTest::connections_ =
    new std::map<std::string, std::unique_ptr<PgConnection>>();

template <typename Map>
std::set<std::string> KeysOf(const Map& map) {
  std::set<std::string> keys;
  for (const auto& [key, value] : map) keys.insert(key);
  return keys;
}

// Every migration file on disk is one the service embeds (and so one this test applies).
TEST_F(SchemaTest, EveryMigrationFileIsApplied) {
  for (const Service& s : Services()) {
    std::set<std::string> on_disk;
    for (const auto& entry :
         fs::directory_iterator(fs::path(QCASH_SOURCE_DIR) / "services" / s.name / "migrations")) {
      if (entry.path().extension() == ".sql") on_disk.insert(entry.path().stem().string());
    }
    std::set<std::string> embedded;
    for (const Migration& m : *s.migrations) embedded.insert(m.name);
    EXPECT_EQ(on_disk, embedded) << s.name;
    EXPECT_FALSE(embedded.empty()) << s.name;
  }
}

// The tables that hold one seller's rows are the ones this suite judges: if a rename made
// these disappear, the checks below would pass over nothing.
TEST_F(SchemaTest, PerSellerTablesAreFound) {
  EXPECT_EQ(PerSellerTables("wallet"),
            (std::set<std::string>{"clawbacks", "holds", "idempotency_keys", "journal",
                                   "lot_origins", "wallets"}));
  EXPECT_EQ(PerSellerRelations("wallet"),
            (std::set<std::string>{"clawbacks", "holds", "idempotency_keys", "journal",
                                   "lot_balances", "lot_origins", "lots", "wallets"}));
  EXPECT_EQ(PerSellerTables("payment"),
            (std::set<std::string>{"charge_orders", "order_reversals", "order_transitions",
                                   "qsign_credentials", "qsign_throttle", "receipt_issues",
                                   "request_keys"}));
  EXPECT_EQ(PerSellerTables("points"), (std::set<std::string>{"conversions", "point_events"}));
}

// Every primary key and unique index of a per-seller table starts with seller_id.
TEST_F(SchemaTest, PerSellerKeysStartWithSellerId) {
  std::map<std::string, std::string> found;  // key -> its first column
  for (const Service& s : Services()) {
    auto r = Db(s.name).Exec(
        "SELECT c.relname, i.relname, "
        "  array_to_string(array(SELECT coalesce(a.attname::text, '<expression>') "
        "    FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
        "    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
        "    ORDER BY k.ord), ',') "
        "FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND x.indisunique "
        "AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid "
        "            AND a.attname = 'seller_id' AND NOT a.attisdropped) "
        "ORDER BY 1, 2");
    ASSERT_TRUE(r.ok()) << r.status();
    for (int i = 0; i < r->rows(); ++i) {
      const std::string columns(r->Get(i, 2));
      found[absl::StrCat(s.name, ".", r->Get(i, 0), ".", r->Get(i, 1), "(", columns, ")")] =
          columns.substr(0, columns.find(','));
    }
  }
  ASSERT_GE(found.size(), 10u) << "the keys of the per-seller tables were not found";
  std::set<std::string> violations;
  for (const auto& [key, first] : found) {
    if (first != "seller_id") violations.insert(key);
  }
  const std::set<std::string> excepted = KeysOf(KeyExceptions());
  std::vector<std::string> unexpected, fixed;
  std::set_difference(violations.begin(), violations.end(), excepted.begin(), excepted.end(),
                      std::back_inserter(unexpected));
  std::set_difference(excepted.begin(), excepted.end(), violations.begin(), violations.end(),
                      std::back_inserter(fixed));
  EXPECT_TRUE(unexpected.empty())
      << "keys of per-seller tables that do not start with seller_id (a Citus shard could not "
         "enforce them; lead with seller_id, or add an exception with its reason):\n  "
      << absl::StrJoin(unexpected, "\n  ");
  EXPECT_TRUE(fixed.empty()) << "exceptions that no longer happen (remove them):\n  "
                             << absl::StrJoin(fixed, "\n  ");
}

// A foreign key from or to a per-seller table pairs seller_id with seller_id, so both rows are
// on one shard.
TEST_F(SchemaTest, NoForeignKeyCrossesSellers) {
  std::set<std::string> violations;
  int keys = 0;
  for (const Service& s : Services()) {
    const std::set<std::string> per_seller = PerSellerTables(s.name);
    auto r = Db(s.name).Exec(
        "SELECT f.conname, c.relname, r.relname, "
        "  array_to_string(array(SELECT a.attname FROM unnest(f.conkey) WITH ORDINALITY k(n, o) "
        "    JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = k.n ORDER BY k.o), ','),"
        "  array_to_string(array(SELECT a.attname FROM unnest(f.confkey) WITH ORDINALITY k(n, o) "
        "    JOIN pg_attribute a ON a.attrelid = f.confrelid AND a.attnum = k.n ORDER BY k.o), "
        "',') "
        "FROM pg_constraint f JOIN pg_class c ON c.oid = f.conrelid "
        "JOIN pg_class r ON r.oid = f.confrelid WHERE f.contype = 'f' ORDER BY 1");
    ASSERT_TRUE(r.ok()) << r.status();
    for (int i = 0; i < r->rows(); ++i) {
      ++keys;
      const std::string from(r->Get(i, 1)), to(r->Get(i, 2));
      if (per_seller.count(from) == 0 && per_seller.count(to) == 0) continue;
      const std::vector<std::string> cols = absl::StrSplit(r->Get(i, 3), ',');
      const std::vector<std::string> refs = absl::StrSplit(r->Get(i, 4), ',');
      bool paired = false;
      for (size_t k = 0; k < cols.size() && k < refs.size(); ++k) {
        paired = paired || (cols[k] == "seller_id" && refs[k] == "seller_id");
      }
      if (!paired) {
        violations.insert(absl::StrCat(s.name, ".", from, ".", r->Get(i, 0), "(", r->Get(i, 3),
                                       ")->", to, "(", r->Get(i, 4), ")"));
      }
    }
  }
  EXPECT_GE(keys, 1) << "no foreign key found at all: is the catalog query right?";
  EXPECT_EQ(violations, KeysOf(ForeignKeyExceptions()))
      << "a foreign key between per-seller tables must pair seller_id with seller_id";
}

// The checker below can fail: what it accepts and what it refuses.
TEST(StatementCheck, TellsStatementsThatNameTheirSellers) {
  const std::set<std::string> tables = {"wallets", "journal"};
  EXPECT_TRUE(SellerProblems("SELECT 1 FROM wallets WHERE seller_id = $1", tables).empty());
  EXPECT_TRUE(
      SellerProblems("UPDATE wallets AS t SET v = 1 WHERE t.seller_id = ANY($1::text[])", tables)
          .empty());
  EXPECT_TRUE(
      SellerProblems("INSERT INTO journal (seller_id, seq) VALUES ($1, $2)", tables).empty());
  EXPECT_TRUE(SellerProblems("SELECT count(*) FROM other", tables).empty());
  EXPECT_EQ(SellerProblems("SELECT count(*) FROM journal", tables),
            std::vector<std::string>{"reads or changes journal without naming its sellers"});
  EXPECT_EQ(
      SellerProblems("SELECT 1 FROM wallets w JOIN journal j ON j.seller_id = w.seller_id", tables)
          .size(),
      2u);
  EXPECT_EQ(SellerProblems("select 1 from journal where seq = $1", tables).size(), 1u);
  EXPECT_EQ(SellerProblems("INSERT INTO journal (seq) VALUES ($1)", tables),
            std::vector<std::string>{"inserts into journal without seller_id"});

  const std::string source =
      "constexpr PgStatement kA = {\"a_name\", \"SELECT 1 \" MACRO \"FROM journal\"};\n"
      "const std::string kBSql = absl::StrCat(\"SELECT \", kCols, \" FROM wallets\");\n"
      "void F() { conn.Exec(\"DELETE FROM journal WHERE seller_id = $1\"); char q = '\"'; }\n";
  const std::vector<Statement> found = StatementsIn("f.cc", source);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].where, "f.cc:a_name");
  EXPECT_EQ(found[0].sql, "SELECT 1  FROM journal");
  EXPECT_EQ(found[1].where, "f.cc:kBSql");
  EXPECT_EQ(found[2].where, "f.cc:DELETE FROM journal WHERE seller_id = $1");
}

// Every statement of the services on a per-seller table names its sellers.
TEST_F(SchemaTest, EveryStatementOnAPerSellerTableNamesItsSellers) {
  std::map<std::string, std::vector<std::string>> violations;
  std::set<std::string> judged;
  for (const Service& s : Services()) {
    const std::set<std::string> tables = PerSellerRelations(s.name);
    const fs::path root(QCASH_SOURCE_DIR);
    for (const auto& entry : fs::recursive_directory_iterator(root / "services" / s.name)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || name.find("_test.") != std::string::npos ||
          !(entry.path().extension() == ".cc" || entry.path().extension() == ".h")) {
        continue;
      }
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      const std::string file = fs::relative(entry.path(), root).string();
      for (const Statement& st : StatementsIn(file, text.str())) {
        judged.insert(st.where);
        std::vector<std::string> problems = SellerProblems(st.sql, tables);
        if (!problems.empty()) violations[st.where] = problems;
      }
    }
  }
  // The reader finds the statements it must (a change of style would otherwise hide them all).
  for (const char* known :
       {"services/wallet/store.cc:wallet_write_batch", "services/wallet/store.cc:kLockHoldsSql",
        "services/payment/store.cc:payment_insert_order",
        "services/points/store.cc:points_insert_intent"}) {
    EXPECT_EQ(judged.count(known), 1u) << known << " was not found";
  }
  std::vector<std::string> unexpected;
  for (const auto& [where, problems] : violations) {
    if (StatementExceptions().count(where) == 0) {
      unexpected.push_back(absl::StrCat(where, ": ", absl::StrJoin(problems, "; ")));
    }
  }
  std::vector<std::string> fixed;
  for (const auto& [where, reason] : StatementExceptions()) {
    if (violations.count(where) == 0) fixed.push_back(where);
  }
  EXPECT_TRUE(unexpected.empty())
      << "statements on per-seller tables that name no seller (under Citus they run on every "
         "shard; filter by seller_id, or add an exception with its reason):\n  "
      << absl::StrJoin(unexpected, "\n  ");
  EXPECT_TRUE(fixed.empty()) << "exceptions that no longer happen (remove them):\n  "
                             << absl::StrJoin(fixed, "\n  ");
}

}  // namespace
}  // namespace qcash::testing
