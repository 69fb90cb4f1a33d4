// A client for an external process that speaks JSON lines: each request is one JSON value written
// as one line to the child's stdin, each answer one JSON object read as one line from its stdout,
// in order. Used by plugins that let researchers plug in their own (e.g. Python) model; torch-free.
//
// The child is started directly (fork + execve over the PATH entries, like execvp): never through
// a shell, so arguments are passed verbatim. It runs in its own process group, which is killed
// (SIGKILL) on a timeout or when the child does not exit within ~2 s of its stdin being closed.
// Its stderr is drained in the background into a ring buffer of the last few KB, which appears in
// error messages; its stdout must carry only answer lines (blank lines are skipped).
//
// When a request is a JSON object with an "id", its answer must carry the same "id".
// Every failure is a caig::Error naming `name`, the command and the request; after one the child is
// dead (killed if need be, and reaped) and later calls fail at once, quoting the first error.
// Not thread-safe: one caller at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

struct JsonLinesProcessOptions {
  std::vector<std::string> command;   // argv; command[0] is looked up in PATH unless it has a '/'
  double timeout_seconds = 30;        // per answer (from the request, or the previous answer);
                                      // <= 0: wait forever
  std::filesystem::path working_dir;  // empty: inherit
  std::string name = "external";      // used in error messages
};

class JsonLinesProcess {
 public:
  // Starts the child. A command that cannot be executed (not found, not executable, bad working
  // directory) is an Error naming it.
  explicit JsonLinesProcess(JsonLinesProcessOptions options);
  // Closes the child's stdin and stdout, waits up to ~2 s for it to exit, then SIGKILLs its process
  // group; always reaps it. Never throws.
  ~JsonLinesProcess();
  JsonLinesProcess(JsonLinesProcess&&) noexcept;
  JsonLinesProcess& operator=(JsonLinesProcess&&) noexcept;
  JsonLinesProcess(const JsonLinesProcess&) = delete;
  JsonLinesProcess& operator=(const JsonLinesProcess&) = delete;

  // Writes `request` as one line and returns the answer line parsed as a JSON object. An Error when
  // the child exits or crashes (with its exit status or signal and the tail of its stderr), does
  // not answer within the timeout (it is then killed), answers with something that is not a JSON
  // object or with the wrong "id", or closes its stdout without answering.
  nlohmann::json request(const nlohmann::json& request);

  // Sends all requests and reads their answers, pipelined (writing and reading interleave, so a
  // child that answers before reading everything never deadlocks); the answers come back in order.
  // The timeout applies to each answer in turn. Errors as for request(), naming the request that
  // was waiting for its answer.
  std::vector<nlohmann::json> request_all(const std::vector<nlohmann::json>& requests);

  int pid() const;       // the child's process id (kept after it has been reaped)
  bool running() const;  // false once an error (or a move) has ended the child
  const JsonLinesProcessOptions& options() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace caig
