// Options structs <-> JSON through one field table. A struct lists its keys once,
//
//   template <class Self, class F> static void fields(Self& o, F&& f) {
//     f("batch_size", o.batch_size);
//     f("lr", o.lr);
//   }
//
// and fields_to_json / fields_from_json drive both directions from it, so a key cannot be
// written and not read, or spelled two ways. The table may branch on a field read before (a
// later key that applies only to one `objective`). A member that is itself such a struct, or has
// to_json() / static from_json(), nests.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/error.h"

namespace caig {

namespace json_fields_detail {

template <class T, class = void>
struct has_to_json : std::false_type {};
template <class T>
struct has_to_json<T, std::void_t<decltype(std::declval<const T&>().to_json())>> : std::true_type {
};

template <class T>
bool has_type(const nlohmann::json& v) {
  if constexpr (std::is_same_v<T, bool>)
    return v.is_boolean();
  else if constexpr (std::is_integral_v<T>)
    return v.is_number_integer();
  else if constexpr (std::is_floating_point_v<T>)
    return v.is_number();
  else if constexpr (std::is_same_v<T, std::string>)
    return v.is_string();
  else if constexpr (std::is_same_v<T, nlohmann::json>)
    return true;
  else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!e.is_string()) return false;
    return true;
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!e.is_number_integer()) return false;
    return true;
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    if (!v.is_array()) return false;
    for (const auto& e : v)
      if (!e.is_number()) return false;
    return true;
  } else {
    return v.is_object();  // a nested struct
  }
}

}  // namespace json_fields_detail

template <class T>
nlohmann::json fields_to_json(const T& options) {
  nlohmann::json j = nlohmann::json::object();
  T copy = options;  // the table takes a mutable reference
  T::fields(copy, [&j](const char* key, const auto& value) {
    using V = std::decay_t<decltype(value)>;
    if constexpr (json_fields_detail::has_to_json<V>::value)
      j[key] = value.to_json();
    else
      j[key] = value;
  });
  return j;
}

// Reads every key of the table from `j` into `options` (all required, types checked); a missing,
// mistyped or (unless other_keys, for a table that is part of a larger config) unknown key is an
// Error naming `what` and the key.
template <class T>
void fields_from_json(T& options, const nlohmann::json& j, const std::string& what,
                      bool other_keys = false) {
  if (!j.is_object()) fail("{}: expected a table, got {}", what, j.dump());
  size_t known = 0;
  T::fields(options, [&](const char* key, auto& value) {
    using V = std::decay_t<decltype(value)>;
    const auto it = j.find(key);
    if (it == j.end()) fail("{}: missing key '{}'", what, key);
    ++known;
    if (!json_fields_detail::has_type<V>(*it))
      fail("{}: '{}' has the wrong type ({})", what, key, it->dump());
    if constexpr (json_fields_detail::has_to_json<V>::value)
      value = V::from_json(*it);
    else
      value = it->template get<V>();
  });
  if (other_keys || known == j.size()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool found = false;
    T::fields(options, [&](const char* key, auto&) { found = found || it.key() == key; });
    if (!found) fail("{}: unknown key '{}'", what, it.key());
  }
}

// The same, into a default-constructed T: `const auto o = fields_from_json<Options>(j, what);`.
template <class T>
T fields_from_json(const nlohmann::json& j, const std::string& what, bool other_keys = false) {
  T options;
  fields_from_json(options, j, what, other_keys);
  return options;
}

}  // namespace caig
