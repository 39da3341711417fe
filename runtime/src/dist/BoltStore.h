#pragma once
// The c10d::Store the process groups use (gloo, shm's exchange, NCCL's id), backed by Bolt's
// own server and client (StoreServer, StoreClient) instead of libtorch's TCPStore, which
// listens on every interface and answers each request by polling every client's socket.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <torch/csrc/distributed/c10d/Store.hpp>

#include "StoreClient.h"
#include "StoreServer.h"

namespace bolt::dist {

class BoltStore : public c10d::Store {
 public:
  // Rank 0 (`server` set) serves, every rank connects. `timeout` bounds the connection and
  // every get/wait (c10d's store timeout).
  BoltStore(std::shared_ptr<StoreServer> server, const std::string& host, int port, std::chrono::milliseconds timeout);

  void set(const std::string& key, const std::vector<uint8_t>& value) override;
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& expected,
                                  const std::vector<uint8_t>& desired) override;
  std::vector<uint8_t> get(const std::string& key) override;
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override;
  // Newer libtorch makes clone() a pure virtual of c10d::Store (a thread-safe copy on its own
  // connection); older ones have none. Declared without `override` so both compile.
  c10::intrusive_ptr<c10d::Store> clone();

  const StoreServer* server() const { return server_.get(); }

 private:
  std::shared_ptr<StoreServer> server_;  // shared with clones: serving ends with the last
  std::mutex mutex_;                     // one request at a time on the connection
  StoreClient client_;
};

}  // namespace bolt::dist
