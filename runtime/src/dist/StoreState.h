#pragma once
// The rendezvous store's state and request handling, apart from sockets: keys and values,
// and the clients blocked in get/wait until their keys exist or their deadline passes. Each
// connection has at most one request in flight (clients are synchronous), so a waiting
// connection's later requests stay queued until it is answered.
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "StoreProtocol.h"

namespace bolt::dist::store {

using Clock = std::chrono::steady_clock;

class StoreState {
 public:
  using Send = std::function<void(int connection, std::string frame)>;
  explicit StoreState(Send send) : send_(std::move(send)) {}

  // Handles one request payload of `connection`. Throws MalformedFrame (the caller closes it).
  void handle(int connection, const std::string& payload, Clock::time_point now);
  bool waiting(int connection) const { return waiters_.count(connection) != 0; }
  void forget(int connection);
  // Answers Timeout to every waiter whose deadline has passed; returns the next deadline.
  std::optional<Clock::time_point> expire(Clock::time_point now);
  // Connections answered since the last call (their queued requests may now run).
  std::vector<int> take_woken();

 private:
  struct Waiter {
    Op op;
    std::vector<std::string> keys;
    std::optional<Clock::time_point> deadline;  // none: wait for ever (timeout 0)
  };
  bool all_present(const std::vector<std::string>& keys) const;
  void park(int connection, Waiter waiter);
  void answer(int connection, const Waiter& waiter);
  void changed(const std::string& key);
  void reply(int connection, Status status, const std::function<void(FrameWriter&)>& fields = {});

  Send send_;
  std::unordered_map<std::string, Bytes> values_;
  std::map<int, Waiter> waiters_;
  std::unordered_map<std::string, std::set<int>> waiting_on_;  // key → connections
  std::vector<int> woken_;
};

}  // namespace bolt::dist::store
