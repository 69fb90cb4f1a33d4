#include "harness/distributed_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "harness/error.h"

namespace caig::dist {

namespace {

int parse_int(const char* name, const char* value, int lo, int hi) {
  errno = 0;
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  if (errno != 0 || end == value || *end != '\0' || v < lo || v > hi)
    fail("distributed: {}='{}' is not an integer in {}..{}", name, value, lo, hi);
  return static_cast<int>(v);
}

}  // namespace

nlohmann::json Env::to_json() const {
  return {{"rank", rank},
          {"world_size", world_size},
          {"local_rank", local_rank},
          {"master_addr", master_addr},
          {"master_port", master_port},
          {"timeout_seconds", timeout_seconds}};
}

Env env_from(const std::function<const char*(const char*)>& get_or_empty) {
  const auto get = get_or_empty ? get_or_empty : [](const char* n) { return std::getenv(n); };
  Env e;
  const char* world = get("WORLD_SIZE");
  if (world == nullptr || std::string(world) == "1") return e;
  e.world_size = parse_int("WORLD_SIZE", world, 1, 1 << 16);
  auto required = [&](const char* name) {
    const char* v = get(name);
    if (v == nullptr || *v == '\0')
      fail(
          "distributed: WORLD_SIZE={} but {} is not set (set MASTER_ADDR, MASTER_PORT, RANK, "
          "WORLD_SIZE and LOCAL_RANK, or start the ranks with `caig launch`)",
          e.world_size, name);
    return v;
  };
  e.rank = parse_int("RANK", required("RANK"), 0, e.world_size - 1);
  e.master_addr = required("MASTER_ADDR");
  e.master_port = parse_int("MASTER_PORT", required("MASTER_PORT"), 1, 65535);
  const char* local = get("LOCAL_RANK");
  e.local_rank = local ? parse_int("LOCAL_RANK", local, 0, e.world_size - 1) : 0;
  if (const char* t = get("CAIG_DIST_TIMEOUT")) {
    char* end = nullptr;
    e.timeout_seconds = std::strtod(t, &end);
    if (end == t || *end != '\0' || !(e.timeout_seconds > 0) ||
        e.timeout_seconds > std::numeric_limits<int>::max() / 1000.0)
      fail("distributed: CAIG_DIST_TIMEOUT='{}' is not a positive number of seconds", t);
  }
  return e;
}

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("distributed: no socket to find a free port: {}", std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    fail("distributed: could not find a free port: {}", std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

const Env& process_env() {
  static const Env env = env_from();
  return env;
}

std::filesystem::path rank_output_dir(const std::filesystem::path& dir, int rank) {
  if (rank == 0) return dir;
  return dir / "ranks" / std::to_string(rank);
}

std::filesystem::path rank_sibling_dir(const std::filesystem::path& dir, int rank) {
  if (rank == 0) return dir;
  auto d = dir.lexically_normal();
  if (d.filename().empty()) d = d.parent_path();  // "ckpt/" names ckpt
  return d.parent_path() / (d.filename().string() + ".rank" + std::to_string(rank));
}

namespace {

// ": A vs B" at a leaf; "key: ...", "key.inner: ..." or "key[i]...: ..." below.
std::string difference_below(const nlohmann::json& a, const nlohmann::json& b) {
  auto join = [](const std::string& head, const std::string& inner) {
    return head + (inner.front() == ':' || inner.front() == '[' ? "" : ".") + inner;
  };
  if (a.is_object() && b.is_object()) {
    // Keys in order (nlohmann's objects are sorted): the first that either lacks or differs.
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k)) return fmt::format("{}: {} vs (absent)", k, v.dump());
      if (v != b.at(k)) return join(k, difference_below(v, b.at(k)));
    }
    for (const auto& [k, v] : b.items())
      if (!a.contains(k)) return fmt::format("{}: (absent) vs {}", k, v.dump());
  }
  if (a.is_array() && b.is_array() && a.size() == b.size())
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] != b[i]) return join(fmt::format("[{}]", i), difference_below(a[i], b[i]));
  return fmt::format(": {} vs {}", a.dump(), b.dump());
}

}  // namespace

std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  if (a == b) return "";
  const auto d = difference_below(a, b);
  return d.front() == ':' ? "(the whole configuration)" + d : d;
}

}  // namespace caig::dist
