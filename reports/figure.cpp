#include "reports/figure.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "harness/error.h"
#include "harness/files.h"

namespace fs = std::filesystem;

namespace caig::reports {

namespace {

// Runs `gnuplot <script>` in `cwd`, stderr to `log`; returns the exit status (127: not found).
int run_gnuplot(const fs::path& cwd, const std::string& script, const fs::path& log) {
  const pid_t pid = fork();
  if (pid < 0) fail("cannot start gnuplot: fork failed");
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(126);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 2);
      dup2(fd, 1);
      close(fd);
    }
    const char* argv[] = {"gnuplot", script.c_str(), nullptr};
    execvp("gnuplot", const_cast<char* const*>(argv));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

void render_figure(const fs::path& dir, const Figure& f) {
  fs::create_directories(dir);
  const fs::path stage = dir / fmt::format(".{}.tmp-{}", f.stem, getpid());
  fs::remove_all(stage);
  fs::create_directories(stage);
  const std::string script = fmt::format(
      "# {stem}: rendered by caig-bench from {stem}.dat; edit and run `gnuplot {stem}.gp` here.\n"
      "set terminal pngcairo size {w},{h} font 'sans,10'\n"
      "set output '{stem}.png'\n"
      "{plot}\n"
      "set terminal svg size {w},{h} font 'sans,10'\n"
      "set output '{stem}.svg'\n"
      "{again}\n",
      fmt::arg("stem", f.stem), fmt::arg("w", f.width), fmt::arg("h", f.height),
      fmt::arg("plot", f.plot), fmt::arg("again", f.multiplot ? f.plot : "replot"));
  try {
    write_file_atomic(stage / (f.stem + ".dat"), f.data);
    write_file_atomic(stage / (f.stem + ".gp"), script);
    const fs::path log = stage / "gnuplot.log";
    const int rc = run_gnuplot(stage, f.stem + ".gp", log);
    if (rc != 0) {
      std::ifstream in(log);
      std::stringstream ss;
      ss << in.rdbuf();
      if (rc == 127)
        fail("cannot render {}.gp: gnuplot is not installed (scripts/setup.sh installs it)",
             f.stem);
      fail("gnuplot failed on {}.gp (exit {}): {}", f.stem, rc, ss.str());
    }
    for (const char* ext : {".dat", ".gp", ".png", ".svg"}) {
      const fs::path from = stage / (f.stem + ext);
      if (!fs::exists(from)) fail("gnuplot did not write {}{}", f.stem, ext);
      fs::rename(from, dir / (f.stem + ext));
    }
  } catch (...) {
    std::error_code ec;
    fs::remove_all(stage, ec);
    throw;
  }
  fs::remove_all(stage);
}

}  // namespace caig::reports
