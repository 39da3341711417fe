#pragma once
// Bolt's rendezvous store server, run by rank 0: a key-value map every rank reaches over TCP
// (StoreClient), with blocking get/wait, counters and compare-and-set — what c10d's process
// groups need from a store. Unlike libtorch 1.13's TCPStore it listens only where the plan
// says the master is (loopback for a job on this host) and serves every client from one
// epoll loop, so a request costs the same with 8 ranks connected as with 4,096.
// Torch-free.
#include <memory>
#include <string>

#include "bolt/Error.h"

namespace bolt::dist {

// The master port is held by another process (perhaps another rank 0 of the same job).
class PortInUseError : public DistributedError {
 public:
  using DistributedError::DistributedError;
};

class StoreServer {
 public:
  // Listens on the address `host` resolves to on this machine, port `port` (0: a free one).
  // When the job spans nodes and `host` resolves to loopback here (as Debian's 127.0.1.1
  // hosts entry for the machine's own name does), on every interface instead: other nodes
  // reach it under another address. Throws PortInUseError when the port is taken,
  // DistributedError when `host` is not an address of this machine.
  StoreServer(const std::string& host, int port, bool job_spans_nodes);
  ~StoreServer();  // stops serving; clients see the connection close
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;

  int port() const;
  // Where it listens, e.g. "127.0.0.1:29500" or "*:29500" (for messages and tests).
  std::string listening_on() const;

 private:
  struct Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace bolt::dist
