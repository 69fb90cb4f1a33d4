// caig: the caig-bench command line.
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "harness/blas_kernels.h"
#include "harness/device.h"
#include "harness/error.h"
#include "harness/plugins.h"
#include "harness/progress.h"
#include "methods/backbone/runtime.h"

namespace {

// The CPUs this process may run on (its affinity mask: taskset, a container's cpuset), else the
// hardware threads.
unsigned usable_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace caig;
  CLI::App app{"caig-bench: CTR-driven advertising image generation benchmark (CAIG, WWW 2025)"};
  app.require_subcommand(1);
  // Read before parsing, since subcommands run inside parse().
  bool quiet = false;
  for (int i = 1; i < argc; ++i)
    quiet = quiet || std::string(argv[i]) == "-q" || std::string(argv[i]) == "--quiet";
  if (quiet) set_default_progress_mode(ProgressMode::Quiet);
  ensure_blas_runtime(argv, !quiet);  // may run this program again, before any work
  app.add_flag("-q,--quiet", "no progress display");
  app.set_version_flag("--version", [] {
    return fmt::format("caig {} (LibTorch {}, device {}, BLAS {}, {} intra-op threads)",
                       caig_version(), torch_version(), resolve_device("auto"), blas_label(),
                       torch_threads());
  });
  try {
    // One intra-op thread per usable CPU unless OMP_NUM_THREADS says otherwise (LibTorch's
    // own default was one here; with the thread settings of ensure_blas_runtime, two beat one on
    // the 2-core CPU) and a malloc that keeps activation buffers; run.threads can override.
    const unsigned hardware = usable_cpus();
    backbone::configure_cpu_runtime(std::getenv("OMP_NUM_THREADS") ? 0
                                                                   : static_cast<int>(hardware));
    register_builtin_plugins();
    cli::add_list_command(app);
    cli::add_world_command(app);
    cli::add_run_command(app);
    cli::add_report_command(app);
    cli::add_compare_command(app);
    cli::add_bench_command(app);
    cli::add_launch_command(app);
    cli::add_data_command(app);
    cli::add_pretrain_command(app);
    cli::add_eval_rm_command(app);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const caig::Error& e) {
    std::cerr << "caig: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "caig: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
