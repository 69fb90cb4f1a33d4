// Progress display for long loops: a redrawn bar on a terminal, plain periodic lines otherwise
// (CI logs), nothing when quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace caig {

enum class ProgressMode { Auto, Terminal, Lines, Quiet };

// Process-wide default used by Progress(label, total); `caig --quiet` sets Quiet.
void set_default_progress_mode(ProgressMode mode);

class Progress {
 public:
  Progress(std::string label, int64_t total);  // to stderr, default mode
  Progress(std::string label, int64_t total, std::ostream& out, ProgressMode mode);
  ~Progress();

  void tick(int64_t n = 1) { set(done_ + n); }
  void set(int64_t done);
  void finish();  // prints the final line (also done by the destructor)

 private:
  void draw(bool final_line);
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::ostream& out_;
  ProgressMode mode_;
  bool finished_ = false;
  int last_decile_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace caig
