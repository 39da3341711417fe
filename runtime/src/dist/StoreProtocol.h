#pragma once
// The wire format between Bolt's rendezvous store server (rank 0) and its clients (every rank):
// frames of a 32-bit length and a payload; a request is an operation byte and its fields, a
// reply a status byte and its fields. Integers are little-endian, strings length-prefixed.
// Torch-free (the server, the client and their fuzz harness build without libtorch).
#include <chrono>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace bolt::dist::store {

enum class Op : uint8_t { Set = 1, CompareSet, Get, Add, Delete, Check, NumKeys, Wait };
enum class Status : uint8_t { Ok = 0, Timeout = 1, Refused = 2 };

// A frame larger than this closes the connection: store values are addresses and ids, not data.
inline constexpr uint32_t kMaxFrame = 64u << 20;
inline constexpr uint32_t kMaxKeysPerRequest = 1u << 16;

using Bytes = std::vector<uint8_t>;

class MalformedFrame : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FrameWriter {
 public:
  FrameWriter& u8(uint8_t v) { bytes_.push_back(static_cast<char>(v)); return *this; }
  FrameWriter& u32(uint32_t v) { return raw(&v, sizeof v); }
  FrameWriter& i64(int64_t v) { return raw(&v, sizeof v); }
  FrameWriter& str(const std::string& s) { u32(static_cast<uint32_t>(s.size())); return raw(s.data(), s.size()); }
  FrameWriter& bytes(const Bytes& b) { u32(static_cast<uint32_t>(b.size())); return raw(b.data(), b.size()); }
  FrameWriter& strs(const std::vector<std::string>& list) {
    u32(static_cast<uint32_t>(list.size()));
    for (const auto& s : list) str(s);
    return *this;
  }
  // The length prefix and the payload, ready to send.
  std::string frame() const {
    std::string out(sizeof(uint32_t), '\0');
    const auto size = static_cast<uint32_t>(bytes_.size());
    std::memcpy(out.data(), &size, sizeof size);
    return out + bytes_;
  }

 private:
  FrameWriter& raw(const void* p, std::size_t n) {
    bytes_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string bytes_;
};

// Reads one frame's payload; every read past its end throws MalformedFrame.
class FrameReader {
 public:
  FrameReader(const char* data, std::size_t size) : p_(data), end_(data + size) {}
  uint8_t u8() { uint8_t v; take(&v, 1); return v; }
  uint32_t u32() { uint32_t v; take(&v, sizeof v); return v; }
  int64_t i64() { int64_t v; take(&v, sizeof v); return v; }
  std::string str() {
    const auto n = length();
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  Bytes bytes() {
    const auto n = length();
    Bytes b(p_, p_ + n);
    p_ += n;
    return b;
  }
  std::vector<std::string> strs() {
    const auto count = u32();
    if (count > kMaxKeysPerRequest) throw MalformedFrame("too many keys");
    std::vector<std::string> list;
    for (uint32_t i = 0; i < count; ++i) list.push_back(str());
    return list;
  }
  bool done() const { return p_ == end_; }

 private:
  std::size_t length() {
    const auto n = u32();
    if (n > static_cast<std::size_t>(end_ - p_)) throw MalformedFrame("a field runs past its frame");
    return n;
  }
  void take(void* out, std::size_t n) {
    if (n > static_cast<std::size_t>(end_ - p_)) throw MalformedFrame("a field runs past its frame");
    std::memcpy(out, p_, n);
    p_ += n;
  }
  const char* p_;
  const char* end_;
};

}  // namespace bolt::dist::store
