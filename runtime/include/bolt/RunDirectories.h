#pragma once
// A run's directories: <logs_dir>/<name>/version_<n>. Torch-free (the launcher uses it too).
#include <filesystem>
#include <string>

namespace bolt {

// Finds the next free version_<n> under <logs_dir>/<name> and creates it.
std::filesystem::path create_run_directory(const std::filesystem::path& logs_dir,
                                           const std::string& name);
// The newest version_<n> under <logs_dir>/<name> holding `relative`, if any.
std::filesystem::path find_newest_version_with(const std::filesystem::path& logs_dir,
                                               const std::string& name,
                                               const std::filesystem::path& relative);
// The newest version_<n> under <logs_dir>/<name> whose launch.json has this run_id, if any:
// where a restarted or requeued job continues.
std::filesystem::path find_version_of_run(const std::filesystem::path& logs_dir,
                                          const std::string& name, const std::string& run_id);

}  // namespace bolt
