#pragma once
// One rank's connection to the rendezvous store server (StoreServer): synchronous requests,
// each bounded in time, so a vanished master is an error naming it, never a hang.
// Torch-free.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../util/FileDescriptor.h"
#include "StoreProtocol.h"

namespace bolt::dist {

class StoreClient {
 public:
  // Connects, retrying every 10 ms (each attempt bounded to 1 s) until `timeout`. Throws
  // DistributedError naming host and port when the master does not come up.
  StoreClient(std::string host, int port, std::chrono::milliseconds timeout);

  void set(const std::string& key, const store::Bytes& value);
  store::Bytes compare_set(const std::string& key, const store::Bytes& expected, const store::Bytes& desired);
  // Nothing when the key did not appear within `timeout` (zero: no limit).
  std::optional<store::Bytes> get(const std::string& key, std::chrono::milliseconds timeout);
  int64_t add(const std::string& key, int64_t delta);
  bool remove(const std::string& key);
  bool check(const std::vector<std::string>& keys);
  int64_t num_keys();
  // False when the keys did not all appear within `timeout` (zero: no limit).
  bool wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout);

  const std::string& host() const { return host_; }
  int port() const { return port_; }

 private:
  struct Answer {
    store::Status status;
    store::FrameReader fields;  // the reply's fields after the status (over reply_)
  };
  // Sends the request and reads its reply; `limit` bounds the whole exchange.
  std::string exchange(const store::FrameWriter& request, std::chrono::milliseconds limit);
  // exchange(), and a Refused status thrown as DistributedError naming `what` and `key`.
  Answer ask(const store::FrameWriter& request, const char* what, const std::string& key,
             std::chrono::milliseconds limit);

  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
  FileDescriptor fd_{-1};
  std::string reply_;  // the last reply, which an Answer reads
};

}  // namespace bolt::dist
