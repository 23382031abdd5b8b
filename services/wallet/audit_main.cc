// qcash-wallet-audit: runs the ledger audit (services/wallet/audit.h) against a wallet
// database and prints the report. Exit status 0 when the ledger is sound, 1 when a check
// failed, 2 when the audit could not run.
//
//   qcash-wallet-audit [database-url]     (default: $QCASH_WALLET_DATABASE_URL)
#include <cstdio>

#include "common/config.h"
#include "common/pg.h"
#include "services/wallet/audit.h"

int main(int argc, char** argv) {
  const std::string url =
      argc > 1 ? argv[1] : qcash::EnvString("QCASH_WALLET_DATABASE_URL", "");
  if (url.empty()) {
    std::fprintf(stderr, "usage: qcash-wallet-audit <database-url>\n");
    return 2;
  }
  auto conn = qcash::PgConnection::Connect(url, "qcash-wallet-audit");
  if (!conn.ok()) {
    std::fprintf(stderr, "%s\n", conn.status().ToString().c_str());
    return 2;
  }
  auto report = qcash::wallet::AuditLedger(**conn);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 2;
  }
  std::fputs(report->ToString().c_str(), stdout);
  return report->ok() ? 0 : 1;
}
