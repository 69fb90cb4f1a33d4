// File helpers: atomic writes (temp file + rename) and JSON / JSON-lines I/O with located errors.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace caig {

// Writes `content` to `path` through a temporary file in the same directory and a rename, so a
// reader never sees a half-written file. Creates parent directories.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);
void write_json_atomic(const std::filesystem::path& path, const nlohmann::json& j, int indent = 2);
void write_jsonl_atomic(const std::filesystem::path& path, const std::vector<nlohmann::json>& rows);

std::string read_file(const std::filesystem::path& path);  // Error naming the path on failure
nlohmann::json read_json(const std::filesystem::path& path);  // Error naming path and position

// Calls `row(json, line_number)` for every non-blank line; a malformed line is an Error naming
// "path:line" unless `on_bad_line` is given, which then receives (line_number, message).
void read_jsonl(const std::filesystem::path& path,
                const std::function<void(const nlohmann::json&, int64_t)>& row,
                const std::function<void(int64_t, const std::string&)>& on_bad_line = {});

// Resolves `relative` inside `root`; an absolute path or one that escapes root (.., symlinks) is
// an Error naming `where`.
std::filesystem::path resolve_inside(const std::filesystem::path& root,
                                     const std::string& relative, const std::string& where);

}  // namespace caig
