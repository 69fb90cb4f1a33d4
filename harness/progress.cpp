#include "harness/progress.h"

#include <unistd.h>
#include <cstdlib>
#include <iostream>
#include <string>

#include <fmt/format.h>

namespace caig {

namespace {
ProgressMode g_default = ProgressMode::Auto;

ProgressMode resolve(ProgressMode m) {
  if (m != ProgressMode::Auto) return m;
  // CAIG_PROGRESS=quiet|lines|terminal overrides the automatic choice (tests set quiet).
  if (const char* env = std::getenv("CAIG_PROGRESS")) {
    const std::string v = env;
    if (v == "quiet") return ProgressMode::Quiet;
    if (v == "lines") return ProgressMode::Lines;
    if (v == "terminal") return ProgressMode::Terminal;
  }
  const bool ci = std::getenv("CI") != nullptr;
  return (!ci && ::isatty(STDERR_FILENO)) ? ProgressMode::Terminal : ProgressMode::Lines;
}
}  // namespace

void set_default_progress_mode(ProgressMode mode) { g_default = mode; }

Progress::Progress(std::string label, int64_t total)
    : Progress(std::move(label), total, std::cerr, g_default) {}

Progress::Progress(std::string label, int64_t total, std::ostream& out, ProgressMode mode)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      mode_(resolve(mode)),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() { finish(); }

void Progress::set(int64_t done) {
  done_ = done;
  if (finished_ || mode_ == ProgressMode::Quiet) return;
  const auto now = std::chrono::steady_clock::now();
  if (mode_ == ProgressMode::Terminal) {
    if (now - last_draw_ > std::chrono::milliseconds(100)) draw(false);
    return;
  }
  // Lines: one line per completed tenth, so a CI log gets at most ten lines per loop.
  const int decile = total_ > 0 ? static_cast<int>(10 * done_ / total_) : 0;
  if (decile > last_decile_ && decile < 10) {
    last_decile_ = decile;
    draw(false);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (mode_ != ProgressMode::Quiet) draw(true);
}

void Progress::draw(bool final_line) {
  last_draw_ = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(last_draw_ - start_).count();
  const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0.0;
  const double frac = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  std::string eta;
  if (!final_line && rate > 0 && total_ > done_)
    eta = fmt::format(", eta {:.0f}s", static_cast<double>(total_ - done_) / rate);
  // An open-ended loop (total 0, e.g. training until the budget is spent) shows a count only.
  const std::string text = total_ > 0
                               ? fmt::format("{}: {}/{} ({:.0f}%) {:.1f}s, {:.1f}/s{}", label_,
                                             done_, total_, 100 * frac, secs, rate, eta)
                               : fmt::format("{}: {} {:.1f}s, {:.1f}/s", label_, done_, secs, rate);
  if (mode_ == ProgressMode::Terminal && total_ <= 0) {
    out_ << '\r' << text << "\x1b[K" << (final_line ? "\n" : "") << std::flush;
  } else if (mode_ == ProgressMode::Terminal) {
    const int width = 24;
    const int filled = static_cast<int>(frac * width);
    out_ << '\r' << '[' << std::string(filled, '#') << std::string(width - filled, ' ') << "] "
         << text << "\x1b[K" << (final_line ? "\n" : "") << std::flush;
  } else {
    out_ << text << '\n' << std::flush;
  }
}

}  // namespace caig
