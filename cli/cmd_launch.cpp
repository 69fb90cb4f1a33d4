// `caig launch`: starts the ranks of a data-parallel job on this machine, as torchrun does: N
// copies of a command, each with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK set
// (distributed_env.h). Several machines run one launcher each with the same --nnodes,
// --master-addr and --master-port and their own --node-rank.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "harness/distributed_env.h"
#include "harness/error.h"

namespace caig::cli {

namespace {

struct LaunchOptions {
  int nproc = 1, nnodes = 1, node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port of this machine (one machine only)
  double timeout = 0;   // 0: the ranks' default (CAIG_DIST_TIMEOUT or 300 s)
  double grace = 30;    // seconds the other ranks get to exit on their own after one failed
  bool all_output = false;
  std::vector<std::string> command;
};

std::string self_executable() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "caig";
  return std::string(buf, static_cast<size_t>(n));
}

volatile std::sig_atomic_t g_forward = 0;
void on_signal(int sig) { g_forward = sig; }

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("signal {}", WTERMSIG(status));
  return "an unknown status";
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

int launch(LaunchOptions o) {
  if (o.nproc < 1 || o.nnodes < 1 || o.node_rank < 0 || o.node_rank >= o.nnodes)
    fail("launch: need --nproc >= 1, --nnodes >= 1 and 0 <= --node-rank < --nnodes");
  if (o.command.empty())
    fail("launch: no command after --, e.g. caig launch --nproc 2 -- caig run ...");
  if (o.master_port == 0) {
    if (o.nnodes > 1) fail("launch: several machines need the same --master-port on each");
    o.master_port = dist::free_local_port();
  }
  // `caig` is this executable, wherever it was built.
  if (o.command.front() == "caig") o.command.front() = self_executable();
  const int world = o.nproc * o.nnodes;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::vector<pid_t> pids;
  for (int local = 0; local < o.nproc; ++local) {
    const int rank = o.node_rank * o.nproc + local;
    const pid_t pid = ::fork();
    if (pid < 0) fail("launch: fork failed: {}", std::strerror(errno));
    if (pid == 0) {
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
      ::setenv("MASTER_ADDR", o.master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(o.master_port).c_str(), 1);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(o.nproc).c_str(), 1);
      if (o.timeout > 0) ::setenv("CAIG_DIST_TIMEOUT", fmt::format("{}", o.timeout).c_str(), 1);
      if (rank > 0 && !o.all_output) {
        // Rank 0 speaks for the job; the others' errors still reach stderr.
        ::setenv("CAIG_PROGRESS", "quiet", 1);
        if (FILE* null = std::fopen("/dev/null", "w")) ::dup2(fileno(null), STDOUT_FILENO);
      }
      std::vector<char*> argv;
      for (auto& a : o.command) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp(argv.front(), argv.data());
      std::fprintf(stderr, "caig launch: cannot run %s: %s\n", argv.front(), std::strerror(errno));
      std::_Exit(127);
    }
    pids.push_back(pid);
  }
  int result = 0;
  size_t running = pids.size();
  std::vector<bool> done(pids.size(), false);
  auto failed_at = std::chrono::steady_clock::time_point::max();
  bool terminated = false, killed = false;
  int forwarded = 0;
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      for (size_t i = 0; i < pids.size(); ++i) {
        if (pids[i] != pid || done[i]) continue;
        done[i] = true;
        --running;
        const int rank = o.node_rank * o.nproc + static_cast<int>(i);
        if (exit_code(status) != 0 && result == 0) {
          result = exit_code(status);
          std::cerr << fmt::format("caig launch: rank {} ended with {}; {}\n", rank,
                                   describe(status), running > 0 ? "stopping the other ranks" : "");
          failed_at = std::chrono::steady_clock::now();
        }
      }
      continue;
    }
    if (g_forward != 0 && !terminated) {
      for (size_t i = 0; i < pids.size(); ++i)
        if (!done[i]) ::kill(pids[i], g_forward);
      terminated = true;
      forwarded = g_forward;  // the ranks' own statuses (130 when they stopped cleanly) come first
      failed_at = std::chrono::steady_clock::now();
    }
    const auto now = std::chrono::steady_clock::now();
    if (failed_at != std::chrono::steady_clock::time_point::max()) {
      const double since = std::chrono::duration<double>(now - failed_at).count();
      if (!terminated && since > o.grace) {
        for (size_t i = 0; i < pids.size(); ++i)
          if (!done[i]) ::kill(pids[i], SIGTERM);
        terminated = true;
      } else if (terminated && !killed && since > o.grace + 10) {
        for (size_t i = 0; i < pids.size(); ++i)
          if (!done[i]) ::kill(pids[i], SIGKILL);
        killed = true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return result == 0 && forwarded != 0 ? 128 + forwarded : result;
}

}  // namespace

void add_launch_command(CLI::App& app) {
  auto o = std::make_shared<LaunchOptions>();
  auto* sub = app.add_subcommand(
      "launch",
      "start the ranks of a data-parallel job: caig launch --nproc N -- caig run ... (torchrun's "
      "environment variables; Gloo on CPU, NCCL on CUDA)");
  sub->add_option("--nproc", o->nproc, "ranks on this machine")->required();
  sub->add_option("--nnodes", o->nnodes, "machines in the job")->capture_default_str();
  sub->add_option("--node-rank", o->node_rank, "this machine, 0..nnodes-1")->capture_default_str();
  sub->add_option("--master-addr", o->master_addr, "the address of node 0 (rank 0's store)")
      ->capture_default_str();
  sub->add_option("--master-port", o->master_port,
                  "its port (default: a free port; required with several machines)");
  sub->add_option("--timeout", o->timeout,
                  "seconds a rank waits in a collective for the others (CAIG_DIST_TIMEOUT; "
                  "default 300)");
  sub->add_option("--grace", o->grace,
                  "seconds the other ranks get to exit by themselves after one failed")
      ->capture_default_str();
  sub->add_flag("--all-output", o->all_output, "show every rank's output (default: rank 0's)");
  sub->add_option("command", o->command, "the command every rank runs, after --")->required();
  sub->callback([o] {
    const int code = launch(*o);
    if (code != 0) std::exit(code);
  });
}

}  // namespace caig::cli
