#include "bolt/EventWriter.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

namespace {

std::array<uint32_t, 256> crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    table[i] = crc;
  }
  return table;
}

// Protobuf wire format, just the pieces an Event with a scalar Summary needs.
void put_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}
void put_tag(std::string& out, int field, int wire_type) { put_varint(out, static_cast<uint64_t>(field << 3 | wire_type)); }
template <class T>
void put_fixed(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian, as the wire format
  out.append(bytes, sizeof(T));
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event { double wall_time = 1; int64 step = 2;
//         oneof { string file_version = 3; Summary summary = 5; SessionLog session_log = 7; } }
std::string event_header(int64_t step) {
  std::string event;
  put_tag(event, 1, 1);
  put_fixed(event, now_seconds());
  put_tag(event, 2, 0);
  put_varint(event, static_cast<uint64_t>(step));
  return event;
}

}  // namespace

uint32_t crc32c(const void* data, std::size_t size) {
  static const auto table = crc32c_table();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ bytes[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, std::size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::filesystem::path& dir) {
  char host[HOST_NAME_MAX + 1] = {};
  ::gethostname(host, sizeof host - 1);
  path_ = dir / fmt::format("events.out.tfevents.{}.{}", static_cast<int64_t>(now_seconds()), host);
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) throw EnvironmentError(fmt::format("cannot write TensorBoard events to {}", path_.string()));
  std::string event = event_header(0);
  put_bytes(event, 3, "brain.Event:2");
  write_record(event);
  flush();
}

void EventWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  // Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
  std::string summary_value;
  put_bytes(summary_value, 1, tag);
  put_tag(summary_value, 2, 5);
  put_fixed(summary_value, static_cast<float>(value));
  std::string summary;
  put_bytes(summary, 1, summary_value);
  std::string event = event_header(step);
  put_bytes(event, 5, summary);
  write_record(event);
}

void EventWriter::add_session_start(int64_t step) {
  // Event { SessionLog session_log = 7; }  SessionLog { SessionStatus status = 1; }  START = 1
  std::string session_log;
  put_tag(session_log, 1, 0);
  put_varint(session_log, 1);
  std::string event = event_header(step);
  put_bytes(event, 7, session_log);
  write_record(event);
}

void EventWriter::write_record(const std::string& event) {
  std::string record;
  const uint64_t length = event.size();
  put_fixed(record, length);
  put_fixed(record, masked_crc32c(&length, sizeof length));
  record += event;
  put_fixed(record, masked_crc32c(event.data(), event.size()));
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
}

void EventWriter::flush() {
  out_.flush();
  if (!out_) throw EnvironmentError(fmt::format("writing {} failed", path_.string()));
}

}  // namespace bolt
