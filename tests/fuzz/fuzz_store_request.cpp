// The rendezvous store server's request handling (what rank 0 answers to anyone who connects
// to its port): any bytes are answered with well-formed reply frames or refused as malformed,
// never a crash or an allocation the payload does not account for.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "FuzzSupport.h"
#include "dist/StoreProtocol.h"
#include "dist/StoreState.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string payload(reinterpret_cast<const char*>(data), size);
  bolt::fuzz::expect_only_bolt_errors(payload, [&] {
    // The server's own state and handlers, without sockets: one connection, one request.
    std::string replies;
    bolt::dist::store::StoreState state([&](int, std::string frame) { replies += frame; });
    try {
      state.handle(1, payload, bolt::dist::store::Clock::now());
      state.expire(bolt::dist::store::Clock::now() + std::chrono::hours(24 * 366));
    } catch (const bolt::dist::store::MalformedFrame&) {
      return;  // the server drops such a client
    }
    // Every reply is a complete frame starting with a known status.
    std::size_t at = 0;
    while (at < replies.size()) {
      uint32_t length = 0;
      if (replies.size() - at < sizeof length) bolt::fuzz::defect("a truncated reply frame", payload);
      std::memcpy(&length, replies.data() + at, sizeof length);
      if (length == 0 || replies.size() - at - sizeof length < length || static_cast<uint8_t>(replies[at + 4]) > 2) {
        bolt::fuzz::defect("a malformed reply frame", payload);
      }
      at += sizeof length + length;
    }
  });
  return 0;
}
