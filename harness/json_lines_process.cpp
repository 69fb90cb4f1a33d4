#include "harness/json_lines_process.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/error.h"

extern char** environ;

namespace caig {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr size_t kStderrTail = 2048;            // bytes of the child's stderr kept for errors
constexpr size_t kMaxLine = size_t{256} << 20;  // an answer line longer than this is an error
constexpr size_t kChunk = size_t{64} << 10;     // bytes per read()/write()

// What the child reports through the CLOEXEC pipe when it cannot exec.
enum ChildStage : int { kStageDup = 1, kStageChdir = 2, kStageExec = 3 };

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// A pipe with both ends close-on-exec and above the standard descriptors 0-2 (so that dup2 onto
// 0-2 in the child can never clobber one of them, even when the parent runs with 0-2 closed).
void make_pipe(int fds[2], const std::string& name) {
  if (::pipe2(fds, O_CLOEXEC) != 0)
    fail("{}: cannot create a pipe: {}", name, std::strerror(errno));
  for (int i = 0; i < 2; ++i) {
    if (fds[i] < 3) {
      const int moved = ::fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
      const int err = errno;
      ::close(fds[i]);
      fds[i] = moved;
      if (moved < 0) {
        close_fd(fds[1 - i]);
        fail("{}: cannot create a pipe: {}", name, std::strerror(err));
      }
    }
  }
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string shorten(std::string s, size_t n) {
  if (s.size() > n) {
    s.resize(n);
    s += "...";
  }
  return s;
}

std::string quote_arg(const std::string& a) {
  if (!a.empty() && a.find_first_of(" \t\n'\"\\$`;&|<>()*?[]{}~#!") == std::string::npos) return a;
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string command_text(const std::vector<std::string>& command) {
  std::string s;
  for (const auto& a : command) s += (s.empty() ? "" : " ") + quote_arg(a);
  return s;
}

std::string describe_request(const json& r) {
  if (r.is_object() && r.contains("id")) return "request id " + shorten(r["id"].dump(), 80);
  return "request " + shorten(r.dump(-1, ' ', false, json::error_handler_t::replace), 120);
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* text = ::strsignal(sig);
    return fmt::format("was killed by signal {} ({}){}", sig, text ? text : "?",
                       WCOREDUMP(status) ? ", core dumped" : "");
  }
  return fmt::format("ended with wait status {}", status);
}

pid_t waitpid_retry(pid_t pid, int* status, int flags) {
  for (;;) {
    const pid_t r = ::waitpid(pid, status, flags);
    if (r >= 0 || errno != EINTR) return r;
  }
}

// Blocks SIGPIPE in the calling thread for its lifetime, so that writing to a child that has gone
// away is an EPIPE error instead of a signal that kills this process; consume() swallows the
// SIGPIPE such a write left pending. Thread-local: no process-wide signal disposition changes.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &set_, &old_);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() { ::pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

  void consume() {
    if (was_pending_) return;
    const timespec zero{0, 0};
    while (::sigtimedwait(&set_, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }

 private:
  sigset_t set_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

}  // namespace

struct JsonLinesProcess::State {
  JsonLinesProcessOptions options;
  std::string command;  // for messages
  pid_t pid = -1;
  bool reaped = false;
  int in_fd = -1;   // the child's stdin (write end, non-blocking)
  int out_fd = -1;  // the child's stdout (read end, non-blocking)
  int err_fd = -1;  // the child's stderr (read end, drained by `drain`)
  int wake[2] = {-1, -1};
  std::string buffer;  // bytes read from stdout not yet returned as lines
  size_t start = 0;    // first unconsumed byte of buffer
  size_t scan = 0;     // bytes after start known to hold no '\n'
  std::string dead;    // the error that ended the child; empty while it runs

  std::thread drain;
  std::mutex mutex;
  std::condition_variable cv;
  std::string stderr_tail;
  size_t stderr_total = 0;
  bool stderr_eof = false;

  explicit State(JsonLinesProcessOptions o) : options(std::move(o)) {}
  ~State() { shutdown(); }

  void start_child();
  void drain_stderr();
  std::string stderr_snapshot(bool wait_for_eof);
  void shutdown() noexcept;
  void kill_child();
  [[noreturn]] void die(const std::string& what, bool expect_exit, const std::string& hint = "");
  bool take_line(std::string& line);
  std::vector<json> exchange(const json* requests, size_t n);
};

void JsonLinesProcess::State::start_child() {
  const std::string& name = options.name;
  if (options.command.empty() || options.command[0].empty())
    fail("{}: no command given to start the external process", name);

  // Everything the child needs is prepared here: after fork() it may only call async-signal-safe
  // functions (no allocation), as other threads may hold locks.
  std::vector<char*> argv;
  for (auto& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> candidates;  // execvp's search, done without a shell
  const std::string& program = options.command[0];
  if (program.find('/') != std::string::npos) {
    candidates.push_back(program);
  } else {
    std::string path;
    if (const char* p = std::getenv("PATH")) {
      path = p;
    } else {
      const size_t len = ::confstr(_CS_PATH, nullptr, 0);
      path.assign(len, '\0');
      if (len > 0) ::confstr(_CS_PATH, path.data(), len);
      path.resize(std::strlen(path.c_str()));
    }
    size_t from = 0;
    for (;;) {
      const size_t colon = path.find(':', from);
      std::string dir = path.substr(from, colon == std::string::npos ? colon : colon - from);
      candidates.push_back((dir.empty() ? std::string(".") : dir) + "/" + program);
      if (colon == std::string::npos) break;
      from = colon + 1;
    }
  }
  std::vector<const char*> candidate_ptrs;
  for (const auto& c : candidates) candidate_ptrs.push_back(c.c_str());
  const std::string working_dir = options.working_dir.string();
  rlimit lim{};
  const int max_fd = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                         ? static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 65536))
                         : 65536;
  sigset_t no_signals;
  sigemptyset(&no_signals);

  // The child's ends of its pipes (and the exec-error pipe), closed on every way out of here.
  struct Ends {
    int fd[5] = {-1, -1, -1, -1, -1};  // child stdin, stdout, stderr; exec-error read, write
    ~Ends() {
      for (int& f : fd) close_fd(f);
    }
  } ends;
  int p[2];
  make_pipe(p, name);
  ends.fd[0] = p[0];
  in_fd = p[1];
  make_pipe(p, name);
  out_fd = p[0];
  ends.fd[1] = p[1];
  make_pipe(p, name);
  err_fd = p[0];
  ends.fd[2] = p[1];
  make_pipe(wake, name);
  make_pipe(p, name);
  ends.fd[3] = p[0];
  ends.fd[4] = p[1];
  const int child_in = ends.fd[0], child_out = ends.fd[1], child_err = ends.fd[2];

  const pid_t child = ::fork();
  if (child == 0) {
    const int report_fd = ends.fd[4];
    auto report = [report_fd](int stage, int err) {
      const int msg[2] = {stage, err};
      [[maybe_unused]] const ssize_t n = ::write(report_fd, msg, sizeof msg);
      ::_exit(127);
    };
    ::setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    if (::dup2(child_in, 0) < 0 || ::dup2(child_out, 1) < 0 || ::dup2(child_err, 2) < 0)
      report(kStageDup, errno);
    if (!working_dir.empty() && ::chdir(working_dir.c_str()) != 0) report(kStageChdir, errno);
    // Close every other descriptor (the pipes are close-on-exec anyway; this catches descriptors
    // the rest of the process opened without O_CLOEXEC), keeping report_fd until exec.
    bool closed = false;
#ifdef SYS_close_range
    closed = (report_fd == 3 || ::syscall(SYS_close_range, 3u, report_fd - 1u, 0u) == 0) &&
             ::syscall(SYS_close_range, report_fd + 1u, ~0u, 0u) == 0;
#endif
    if (!closed)
      for (int fd = 3; fd < max_fd; ++fd)
        if (fd != report_fd) ::close(fd);
    // As execvp: go on past entries that do not hold the program; EACCES if one was not
    // executable; stop at any other error (ENOEXEC included: there is no fallback to a shell).
    int err = ENOENT;
    bool denied = false;
    for (const char* candidate : candidate_ptrs) {
      ::execve(candidate, argv.data(), environ);
      err = errno;
      if (err == EACCES) {
        denied = true;
      } else if (err != ENOENT && err != ENOTDIR && err != ESTALE && err != ENODEV &&
                 err != ETIMEDOUT) {
        report(kStageExec, err);
      }
    }
    report(kStageExec, denied ? EACCES : err);
  }

  const int fork_errno = errno;
  for (int i : {0, 1, 2, 4}) close_fd(ends.fd[i]);  // the parent keeps only the exec-error read end
  if (child < 0) {
    fail("{}: cannot start {}: fork failed: {}", name, command, std::strerror(fork_errno));
  }
  pid = child;
  ::setpgid(child, child);  // also done by the child; whichever runs first wins, harmlessly

  int msg[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof msg) {
    const ssize_t n = ::read(ends.fd[3], reinterpret_cast<char*>(msg) + got, sizeof msg - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close_fd(ends.fd[3]);
  if (got == sizeof msg) {  // exec failed; the child has _exit()ed
    int status = 0;
    waitpid_retry(pid, &status, 0);
    reaped = true;
    const std::string reason = std::strerror(msg[1]);
    if (msg[0] == kStageChdir)
      fail("{}: cannot start {}: cannot change to working directory {}: {}", name, command,
           working_dir, reason);
    if (msg[0] == kStageExec) {
      std::string hint;
      const bool searched = program.find('/') == std::string::npos;
      if (msg[1] == ENOENT && searched)
        hint = fmt::format(" ('{}' was not found in PATH)", program);
      else if (msg[1] == ENOENT)
        hint = fmt::format(" ('{}' does not exist)", program);
      else if (msg[1] == EACCES)
        hint = fmt::format(" ('{}' is not executable)", program);
      else if (msg[1] == ENOEXEC)
        hint = " (a script needs a '#!' line; it is never run through a shell)";
      fail("{}: cannot start {}: {}{}", name, command, reason, hint);
    }
    fail("{}: cannot start {}: {}", name, command, reason);
  }

  set_nonblocking(in_fd);
  set_nonblocking(out_fd);
  drain = std::thread([this] { drain_stderr(); });
}

void JsonLinesProcess::State::drain_stderr() {
  pollfd fds[2] = {{err_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
  char chunk[4096];
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    if (fds[0].revents == 0) continue;
    const ssize_t n = ::read(err_fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mutex);
    stderr_tail.append(chunk, static_cast<size_t>(n));
    stderr_total += static_cast<size_t>(n);
    if (stderr_tail.size() > 4 * kStderrTail)
      stderr_tail.erase(0, stderr_tail.size() - kStderrTail);
  }
  std::lock_guard<std::mutex> lock(mutex);
  stderr_eof = true;
  cv.notify_all();
}

std::string JsonLinesProcess::State::stderr_snapshot(bool wait_for_eof) {
  std::unique_lock<std::mutex> lock(mutex);
  // Once the child is gone its stderr reaches EOF soon (unless a grandchild still holds it).
  if (wait_for_eof && drain.joinable())
    cv.wait_for(lock, std::chrono::milliseconds(300), [this] { return stderr_eof; });
  if (stderr_total == 0) return "(the process wrote nothing to stderr)";
  const bool cut = stderr_total > kStderrTail;
  std::string tail = stderr_tail.size() > kStderrTail
                         ? stderr_tail.substr(stderr_tail.size() - kStderrTail)
                         : stderr_tail;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  if (cut) return fmt::format("its stderr (last {} bytes):\n...{}", kStderrTail, tail);
  return "its stderr:\n" + tail;
}

void JsonLinesProcess::State::kill_child() {
  if (pid <= 0 || reaped) return;
  ::kill(-pid, SIGKILL);  // the whole process group: a wrapper script's children too
  ::kill(pid, SIGKILL);
  int status = 0;
  waitpid_retry(pid, &status, 0);
  reaped = true;
}

void JsonLinesProcess::State::shutdown() noexcept {
  close_fd(in_fd);   // EOF on its stdin: the child should exit
  close_fd(out_fd);  // and must not stay blocked writing answers nobody reads
  if (pid > 0 && !reaped) {
    const auto until = Clock::now() + std::chrono::seconds(2);
    int status = 0;
    while (!reaped) {
      const pid_t r = waitpid_retry(pid, &status, WNOHANG);
      if (r == pid || r < 0) {
        reaped = true;
      } else if (Clock::now() >= until) {
        kill_child();
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  }
  if (drain.joinable()) {
    try {
      [[maybe_unused]] const ssize_t n = ::write(wake[1], "x", 1);
      drain.join();
    } catch (...) {
      drain.detach();  // cannot happen in practice; never throw from a destructor
    }
  }
  close_fd(err_fd);
  close_fd(wake[0]);
  close_fd(wake[1]);
}

// Ends the child and throws. `expect_exit`: the child closed its end of a pipe, so give it a moment
// to exit by itself and report how it ended; otherwise (timeout, bad answer) kill it at once.
void JsonLinesProcess::State::die(const std::string& what, bool expect_exit,
                                  const std::string& hint) {
  close_fd(in_fd);
  close_fd(out_fd);
  std::string how;
  if (pid > 0 && !reaped) {
    int status = 0;
    const auto until = Clock::now() + std::chrono::seconds(expect_exit ? 1 : 0);
    for (;;) {
      const pid_t r = waitpid_retry(pid, &status, WNOHANG);
      if (r == pid) {
        reaped = true;
        how = "; it " + describe_status(status);
        break;
      }
      if (r < 0) {
        reaped = true;
        break;
      }
      if (Clock::now() >= until) {
        kill_child();
        how = expect_exit ? "; it was still running and has been killed" : "; it has been killed";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  dead = fmt::format("{}: {}{} (command: {}){}\n{}", options.name, what, how, command, hint,
                     stderr_snapshot(true));
  throw Error(dead);
}

bool JsonLinesProcess::State::take_line(std::string& line) {
  const size_t nl = buffer.find('\n', start + scan);
  if (nl == std::string::npos) {
    scan = buffer.size() - start;
    return false;
  }
  line.assign(buffer, start, nl - start);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  start = nl + 1;
  scan = 0;
  if (start == buffer.size()) {
    buffer.clear();
    start = 0;
  } else if (start >= kChunk && start * 2 >= buffer.size()) {
    buffer.erase(0, start);
    start = 0;
  }
  return true;
}

std::vector<json> JsonLinesProcess::State::exchange(const json* requests, size_t n) {
  const std::string& name = options.name;
  if (!dead.empty()) {
    std::string first = dead.substr(0, dead.find('\n'));
    if (first.compare(0, name.size() + 2, name + ": ") == 0) first.erase(0, name.size() + 2);
    fail("{}: cannot send {}: the process is no longer running, after an earlier error: {}", name,
         n > 0 ? describe_request(requests[0]) : std::string("requests"), first);
  }
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    try {
      out += requests[i].dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception& e) {
      fail("{}: cannot send {}: {}", name, describe_request(requests[i]), e.what());
    }
    out += '\n';
  }

  SigpipeBlock sigpipe;
  std::vector<json> answers;
  answers.reserve(n);
  size_t written = 0;
  const bool timed = options.timeout_seconds > 0;
  const auto timeout = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(timed ? options.timeout_seconds : 0));
  auto deadline = Clock::now() + timeout;
  auto pending = [&]() {
    const size_t i = std::min(answers.size(), n - 1);
    return n == 1 ? describe_request(requests[i])
                  : fmt::format("{} ({} of {})", describe_request(requests[i]), i + 1, n);
  };
  std::string line;
  std::vector<char> chunk(kChunk);

  while (answers.size() < n || written < out.size()) {
    if (answers.size() < n && take_line(line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      json answer;
      try {
        answer = json::parse(line);
      } catch (const json::exception& e) {
        std::string why = e.what();  // "[json.exception.parse_error.101] parse error at ..."
        if (why.find("] ") != std::string::npos) why.erase(0, why.find("] ") + 2);
        die(fmt::format("the answer to {} is not JSON: '{}' ({})", pending(), shorten(line, 200),
                        why),
            false, ". Its stdout must carry answer lines only; logs go to stderr.");
      }
      if (!answer.is_object())
        die(fmt::format("the answer to {} is not a JSON object: {}", pending(),
                        shorten(answer.dump(), 200)),
            false);
      const json& request = requests[answers.size()];
      if (request.is_object() && request.contains("id")) {
        const auto id = answer.find("id");
        if (id == answer.end())
          die(fmt::format("the answer to {} has no \"id\": {}", pending(),
                          shorten(answer.dump(), 200)),
              false);
        if (*id != request["id"])
          die(fmt::format("the answer to {} carries id {} (answers must come in request order)",
                          pending(), shorten(id->dump(), 80)),
              false);
      }
      answers.push_back(std::move(answer));
      deadline = Clock::now() + timeout;
      continue;
    }

    int wait_ms = -1;
    if (timed) {
      const auto left = deadline - Clock::now();
      if (left <= Clock::duration::zero())
        die(fmt::format("no answer to {} within {} s", pending(), options.timeout_seconds), false);
      const double ms = std::ceil(std::chrono::duration<double, std::milli>(left).count());
      wait_ms = static_cast<int>(std::min(ms, static_cast<double>(INT_MAX)));
    }
    pollfd fds[2];
    nfds_t count = 0;
    int out_index = -1, in_index = -1;
    if (answers.size() < n) {
      out_index = static_cast<int>(count);
      fds[count++] = {out_fd, POLLIN, 0};
    }
    if (written < out.size()) {
      in_index = static_cast<int>(count);
      fds[count++] = {in_fd, POLLOUT, 0};
    }
    const int ready = ::poll(fds, count, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die(fmt::format("waiting for the answer to {}: poll failed: {}", pending(),
                      std::strerror(errno)),
          false);
    }
    if (ready == 0) continue;  // the deadline is checked at the top of the loop

    if (in_index >= 0 && fds[in_index].revents != 0) {
      const size_t len = std::min(out.size() - written, kChunk);
      const ssize_t w = ::write(in_fd, out.data() + written, len);
      if (w > 0) {
        written += static_cast<size_t>(w);
      } else if (w < 0 && errno == EPIPE) {
        sigpipe.consume();
        die(fmt::format("the process stopped reading its stdin before {}", pending()), true);
      } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        die(fmt::format("cannot write {} to the process: {}", pending(), std::strerror(errno)),
            false);
      }
    }
    if (out_index >= 0 && fds[out_index].revents != 0) {
      const ssize_t r = ::read(out_fd, chunk.data(), chunk.size());
      if (r > 0) {
        if (buffer.size() - start + static_cast<size_t>(r) > kMaxLine)
          die(fmt::format("the answer to {} is a line longer than {} MiB", pending(),
                          kMaxLine >> 20),
              false);
        buffer.append(chunk.data(), static_cast<size_t>(r));
      } else if (r == 0) {
        const bool partial = buffer.size() > start;
        die(fmt::format("the process closed its stdout without answering {}{}", pending(),
                        partial ? " (it left an unterminated line: '" +
                                      shorten(buffer.substr(start), 200) + "')"
                                : std::string()),
            true);
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        die(fmt::format("cannot read the answer to {}: {}", pending(), std::strerror(errno)),
            false);
      }
    }
  }
  return answers;
}

JsonLinesProcess::JsonLinesProcess(JsonLinesProcessOptions options)
    : state_(std::make_unique<State>(std::move(options))) {
  state_->command = command_text(state_->options.command);
  state_->start_child();
}

JsonLinesProcess::~JsonLinesProcess() = default;
JsonLinesProcess::JsonLinesProcess(JsonLinesProcess&&) noexcept = default;
JsonLinesProcess& JsonLinesProcess::operator=(JsonLinesProcess&&) noexcept = default;

nlohmann::json JsonLinesProcess::request(const nlohmann::json& request) {
  if (!state_) fail("JsonLinesProcess: used after being moved from");
  return std::move(state_->exchange(&request, 1).front());
}

std::vector<nlohmann::json> JsonLinesProcess::request_all(
    const std::vector<nlohmann::json>& requests) {
  if (!state_) fail("JsonLinesProcess: used after being moved from");
  if (requests.empty()) return {};
  return state_->exchange(requests.data(), requests.size());
}

int JsonLinesProcess::pid() const { return state_ ? state_->pid : -1; }

bool JsonLinesProcess::running() const { return state_ && state_->dead.empty() && !state_->reaped; }

const JsonLinesProcessOptions& JsonLinesProcess::options() const {
  static const JsonLinesProcessOptions moved_from{};
  return state_ ? state_->options : moved_from;
}

}  // namespace caig
