// One seed derives every RNG: child seeds are hashes of (parent, name), so adding a consumer never
// shifts the streams of the others, and parallel work seeded per item is order-independent.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace caig {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

inline uint64_t hash_string(std::string_view s) {  // FNV-1a, then mixed
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ULL;
  return splitmix64(h);
}

inline uint64_t derive_seed(uint64_t parent, std::string_view name) {
  return splitmix64(parent ^ hash_string(name));
}
inline uint64_t derive_seed(uint64_t parent, uint64_t index) {
  return splitmix64(splitmix64(parent) + 0xD1B54A32D192ED03ULL * (index + 1));
}

// xoshiro256**: small, fast, good quality; satisfies UniformRandomBitGenerator so the standard
// distributions work with it too.
class Rng {
 public:
  using result_type = uint64_t;
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) s = x = splitmix64(x);
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int uniform_int(int n) { return static_cast<int>(uniform() * n); }  // [0, n)
  int64_t uniform_index(int64_t n) { return static_cast<int64_t>(uniform() * static_cast<double>(n)); }
  bool bernoulli(double p) { return uniform() < p; }
  double normal() {  // Box-Muller, written out so results do not depend on the standard library
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double sd) { return mean + sd * normal(); }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Binomial(n, p) sample, exact: inversion for small n*p, otherwise the sum of geometric waiting
// times (exact, O(n*p)). Written out for the same reason as normal().
int64_t sample_binomial(Rng& rng, int64_t n, double p);

}  // namespace caig
