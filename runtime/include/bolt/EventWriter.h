#pragma once
// TensorBoard's event-file format, written directly: records of (uint64 length, masked
// CRC-32C of the length, an Event protobuf, masked CRC-32C of the data). The first record holds
// file_version "brain.Event:2"; the rest hold scalar summaries (wall_time, step, tag,
// simple_value). Small enough that a protobuf dependency would cost more than it saves.
#include "bolt/Export.h"
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace bolt {

BOLT_API uint32_t crc32c(const void* data, std::size_t size);
BOLT_API uint32_t masked_crc32c(const void* data, std::size_t size);

class BOLT_API EventWriter {
 public:
  // Creates <dir>/events.out.tfevents.<unix seconds>.<host>.
  explicit EventWriter(const std::filesystem::path& dir);
  void add_scalar(const std::string& tag, double value, int64_t step);
  // SessionLog START at `step`: TensorBoard then discards what an earlier, interrupted attempt
  // wrote from that step on (a resumed fit repeats those steps).
  void add_session_start(int64_t step);
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::filesystem::path path_;
  std::ofstream out_;
};

}  // namespace bolt
