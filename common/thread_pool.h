// A fixed set of worker threads with a bounded queue, for work that blocks on I/O (database
// reads, Redis) and must not run on gRPC's own callback threads.
#ifndef QCASH_COMMON_THREAD_POOL_H_
#define QCASH_COMMON_THREAD_POOL_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "common/mutex.h"

namespace qcash {

class ThreadPool {
 public:
  // REQUIRES: threads >= 1, queue_max >= 1.
  ThreadPool(int threads, size_t queue_max);
  ~ThreadPool();  // finishes the queued tasks, then joins
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task`; false (and `task` not run) when the queue is full or the pool stopping.
  bool Post(absl::AnyInvocable<void() &&> task) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const size_t queue_max_;
  Mutex mu_;
  CondVar cv_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // constant after construction
};

}  // namespace qcash

#endif  // QCASH_COMMON_THREAD_POOL_H_
