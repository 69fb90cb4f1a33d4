// The one exception type for user-facing errors: what went wrong and where (file, line, key).
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace caig {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// fail("{}:{}: clicks ({}) exceed impressions ({})", file, line, c, n)
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace caig
