// sanitizer_fault: a deliberately faulty program, started by sanitizer_harness_test the way the
// harness starts a service, to prove that a sanitizer report inside a child process fails the
// test (tests/harness/harness.h, Process). Built and registered only in sanitizer builds.
//
//   sanitizer_fault use-after-free   reads freed heap memory (AddressSanitizer)
//   sanitizer_fault overflow         signed integer overflow (UndefinedBehaviorSanitizer)
//   sanitizer_fault race             two threads write one int unsynchronised (ThreadSanitizer)
//   sanitizer_fault leak             like a service: waits for SIGTERM, then returns from main
//                                    with a heap block unreachable (LeakSanitizer at exit)
//   sanitizer_fault clean            none of these: waits for SIGTERM and exits 0
#include <signal.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <thread>

namespace {

void WaitForSigterm() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::puts("ready");
  std::fflush(stdout);
  int signal = 0;
  sigwait(&set, &signal);
}

int Racy(int rounds) {
  int shared = 0;  // written by both threads, no lock: the race TSan must report
  auto bump = [&shared, rounds] {
    for (int i = 0; i < rounds; ++i) ++shared;
  };
  std::thread a(bump);
  std::thread b(bump);
  a.join();
  b.join();
  return shared;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "use-after-free") == 0) {
    int* volatile block = new int[4]{1, 2, 3, 4};
    delete[] block;
    return block[2];  // heap-use-after-free
  }
  if (std::strcmp(mode, "overflow") == 0) {
    volatile int big = INT_MAX;
    volatile int one = argc;  // never constant: the compiler cannot fold the overflow away
    return big + one > 0 ? 0 : 1;
  }
  if (std::strcmp(mode, "race") == 0) return Racy(100000) > 0 ? 0 : 1;
  if (std::strcmp(mode, "leak") == 0) {
    WaitForSigterm();
    // Allocated on a thread that then ends, so no stack still points at it at exit.
    std::thread([] {
      char* volatile block = new char[4096];
      block[0] = 1;
      block = nullptr;
    }).join();
    return 0;
  }
  if (std::strcmp(mode, "clean") == 0) {
    WaitForSigterm();
    return 0;
  }
  std::fprintf(stderr, "usage: sanitizer_fault use-after-free|overflow|race|leak|clean\n");
  return 2;
}
