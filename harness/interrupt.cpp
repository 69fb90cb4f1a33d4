#include "harness/interrupt.h"

#include <atomic>
#include <csignal>

namespace caig {

namespace {

std::atomic<int> signal_seen{0};

extern "C" void on_stop_signal(int sig) {
  if (signal_seen.exchange(sig) != 0) {  // the second signal: stop now, as the default would
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
}

bool interrupt_requested() { return signal_seen.load() != 0; }

void request_interrupt(bool on) { signal_seen.store(on ? SIGINT : 0); }

void throw_if_interrupted(const char* where) {
  const int sig = signal_seen.load();
  if (sig != 0)
    throw Interrupted(
        fmt::format("interrupted by {} during {}", sig == SIGTERM ? "SIGTERM" : "SIGINT", where));
}

}  // namespace caig
