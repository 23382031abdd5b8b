// Must NOT compile under clang -Wthread-safety -Werror: proof that the analysis runs on
// common/mutex.h (ctest: mutex_analysis_rejects_unlocked_access). Each function breaks one
// rule; the test checks that clang names each of them. Its twin mutex_analysis_passes.cc
// does the same with the lock held and must compile.
#include "common/mutex.h"

namespace {

class Account {
 public:
  // Reads a guarded member without the lock.
  long ReadUnlocked() { return balance_yen_; }
  // Writes a guarded member without the lock.
  void WriteUnlocked() { balance_yen_ = 1; }
  // Calls a helper that requires the lock without it.
  void CallUnlocked() { AddLocked(1); }
  // Reads a guarded member in a wait predicate that does not say it runs under the lock.
  void WaitUnannotated() {
    qcash::MutexLock lock(&mu_);
    cv_.Wait(&mu_, [this] { return balance_yen_ > 0; });
  }

 private:
  void AddLocked(long amount_yen) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { balance_yen_ += amount_yen; }

  qcash::Mutex mu_;
  qcash::CondVar cv_;
  long balance_yen_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace

int main() {
  Account account;
  account.WriteUnlocked();
  account.CallUnlocked();
  account.WaitUnannotated();
  return static_cast<int>(account.ReadUnlocked());
}
