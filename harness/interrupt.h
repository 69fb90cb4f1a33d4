// Ctrl-C and SIGTERM stop a run cleanly: the first signal sets a flag that long loops poll
// (throw_if_interrupted, at step boundaries), so the stage in progress ends with an Interrupted
// error and its folder stays incomplete; a second signal ends the process at once.
#pragma once

#include "harness/error.h"

namespace caig {

class Interrupted : public Error {
 public:
  using Error::Error;
};

// Installs the SIGINT / SIGTERM handlers (idempotent).
void install_interrupt_handlers();

bool interrupt_requested();
// Sets or clears the flag as a signal would (for tests and for a caller that stops a run).
void request_interrupt(bool on = true);

// Throws Interrupted naming `where` once a signal has arrived.
void throw_if_interrupted(const char* where);

}  // namespace caig
