#pragma once
// What `bolt-launch submit` leaves beside its scripts (manifest.json) for `bolt-launch status`:
//   {"created": unix time, "workdir", "stage", "logs_dir", "run_name", "monitor", "monitor_mode",
//    "jobs": [{"job_id", "script", "output", "first_point", "count"}],   one per array (or the job)
//    "points": [{"index", "overrides": [["model.lr", "0.01"], ...], "run_name"}]} (empty without a sweep)
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace bolt::launch {

inline constexpr const char* kManifestFile = "manifest.json";

// Written aside (created exclusively, never through a link) and renamed: a reader never sees
// half a file.
void write_text_file(const std::filesystem::path& path, const std::string& text);
void write_json_file(const std::filesystem::path& path, const nlohmann::json& value);

// A job- and directory-name-safe rendering, at most `max_length` long: what is not
// [A-Za-z0-9._+-] becomes '_'.
std::string name_safe(const std::string& text, std::size_t max_length);

// nullopt when absent or not JSON.
std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path);

}  // namespace bolt::launch
