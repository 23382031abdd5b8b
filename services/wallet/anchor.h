// The journal's anchors, exported by the wallet (docs/LEDGER.md "Tamper-evident journal"): a
// background job computes the heads digest (verify.h) at start-up and then periodically, logs
// it as one structured line ("journal_anchor") and exports it as metrics, so that a copy kept
// outside the database (a log archive, a monitoring system's history) can later be checked
// with `qcashctl verify --anchor <digest> --at <at>`.
#ifndef QCASH_SERVICES_WALLET_ANCHOR_H_
#define QCASH_SERVICES_WALLET_ANCHOR_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/mutex.h"
#include "common/pg.h"
#include "services/wallet/verify.h"

namespace qcash::wallet {

class JournalAnchorJob {
 public:
  struct Options {
    std::string database_url;
    absl::Duration interval = absl::Minutes(5);
    // How far back of the database's clock the anchor's instant lies: every batch that read
    // its time before that instant has committed (or rolled back) by then, so the digest as of
    // it never changes afterwards. The ledger's statements time out after 10 s.
    absl::Duration settle = absl::Minutes(1);
  };

  // Starts the job's thread; the first anchor is taken at once.
  explicit JournalAnchorJob(Options options);
  ~JournalAnchorJob();  // Stop()
  JournalAnchorJob(const JournalAnchorJob&) = delete;
  JournalAnchorJob& operator=(const JournalAnchorJob&) = delete;

  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // Takes one anchor now, logs and exports it. Errors: the database's.
  absl::StatusOr<HeadsAnchor> AnchorOnce();

  const Options options_;
  std::unique_ptr<PgConnection> conn_;  // used by the job's thread only
  Mutex mu_;
  CondVar cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace qcash::wallet

#endif  // QCASH_SERVICES_WALLET_ANCHOR_H_
