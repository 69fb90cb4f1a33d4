// Content hashes (XXH3, 128 bits, as hex) of strings, files and directory trees: what a stage's
// stage.json records of its inputs and outputs, so that a changed config or a truncated or
// missing artifact is seen before anything reads it. Not a cryptographic hash: it guards
// against accidents, not adversaries.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace caig {

std::string hash_bytes(const std::string& bytes);
std::string hash_file(const std::filesystem::path& path);  // Error naming the path on failure

// Every regular file under `root` (recursively; symlinks are not followed), by its path
// relative to root with '/' separators, except those whose relative path is in `skip`:
// {"size": bytes, "hash": hash_file}. The map's order is the paths' order, so the JSON is
// canonical.
nlohmann::json hash_tree(const std::filesystem::path& root,
                         const std::vector<std::string>& skip = {});

// The differences between a recorded hash_tree and `root` now, one line each ("missing x",
// "changed x", "unexpected x"); empty when they agree.
std::vector<std::string> tree_differences(const nlohmann::json& recorded,
                                          const std::filesystem::path& root,
                                          const std::vector<std::string>& skip = {});

}  // namespace caig
