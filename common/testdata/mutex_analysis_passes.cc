// Must compile under clang -Wthread-safety -Werror: the twin of mutex_analysis_fails.cc with
// every access made under the lock (ctest: mutex_analysis_accepts_locked_access), so that the
// failing twin fails for the rules it breaks and not for a broken include or flag.
#include "common/mutex.h"

namespace {

class Account {
 public:
  long ReadLocked() {
    qcash::MutexLock lock(&mu_);
    return balance_yen_;
  }
  void WriteLocked() {
    qcash::MutexLock lock(&mu_);
    balance_yen_ = 1;
  }
  void CallLocked() {
    qcash::MutexLock lock(&mu_);
    AddLocked(1);
  }
  void WaitAnnotated() {
    qcash::MutexLock lock(&mu_);
    cv_.Wait(&mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return balance_yen_ > 0; });
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
  account.WriteLocked();
  account.CallLocked();
  account.WaitAnnotated();
  return static_cast<int>(account.ReadLocked());
}
