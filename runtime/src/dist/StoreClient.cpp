#include "StoreClient.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt::dist {

namespace {

using store::FrameReader;
using store::FrameWriter;
using store::Op;
using store::Status;
using Clock = std::chrono::steady_clock;

// One connection attempt that gives up after `limit`: a blocking connect() to a host that
// drops packets (a firewall, a full accept queue) would wait for the kernel's SYN retries,
// minutes past trainer.dist_timeout_s.
FileDescriptor connect_within(const addrinfo& address, std::chrono::milliseconds limit) {
  FileDescriptor fd(::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, address.ai_protocol));
  if (fd.get() < 0) return fd;
  if (::connect(fd.get(), address.ai_addr, address.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) return FileDescriptor(-1);
    pollfd waiting{fd.get(), POLLOUT, 0};
    int error = 0;
    socklen_t size = sizeof error;
    if (::poll(&waiting, 1, static_cast<int>(limit.count())) != 1 ||
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error != 0) {
      return FileDescriptor(-1);
    }
  }
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

FrameWriter request(Op op) {
  FrameWriter w;
  w.u8(static_cast<uint8_t>(op));
  return w;
}

// How long a get/wait's reply may take: its own timeout (the server answers at it) and a grace;
// a timeout of zero waits for ever.
std::chrono::milliseconds blocking_limit(std::chrono::milliseconds timeout) {
  return timeout.count() > 0 ? timeout + std::chrono::seconds(30) : std::chrono::hours(24 * 365);
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

}  // namespace

StoreClient::StoreClient(std::string host, int port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &found) != 0 || found == nullptr) {
    throw DistributedError(fmt::format("cannot resolve MASTER_ADDR '{}': check the address of the rank-0 host", host_));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);
  // Waiting for rank 0's listener in 10 ms steps makes the rendezvous as fast as its start-up.
  const auto deadline = Clock::now() + timeout;
  while (fd_.get() < 0) {
    for (auto* a = addresses.get(); a != nullptr && fd_.get() < 0; a = a->ai_next) {
      fd_ = connect_within(*a, std::chrono::milliseconds(1000));
    }
    if (fd_.get() >= 0) break;
    if (Clock::now() > deadline) {
      throw DistributedError(fmt::format(
          "the master at {}:{} did not come up within {} s (trainer.dist_timeout_s): is rank 0 running, and are "
          "MASTER_ADDR/MASTER_PORT the same on every rank?",
          host_, port_, std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string StoreClient::exchange(const FrameWriter& request, std::chrono::milliseconds limit) {
  const auto lost = [&](const std::string& why) {
    fd_ = FileDescriptor(-1);  // a half-read reply would answer the next request
    return PeerFailureError(fmt::format("lost the rendezvous store at {}:{} ({}): rank 0 probably exited", host_,
                                        port_, why));
  };
  if (fd_.get() < 0) throw lost("an earlier request failed");
  const auto deadline = Clock::now() + limit;
  const std::string frame = request.frame();
  for (std::size_t sent = 0; sent < frame.size();) {
    const auto n = ::send(fd_.get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n > 0) { sent += static_cast<std::size_t>(n); continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd writable{fd_.get(), POLLOUT, 0};
      if (::poll(&writable, 1, remaining_ms(deadline)) == 1) continue;
      throw lost("no progress sending a request");
    }
    throw lost(std::strerror(errno));
  }
  std::string reply;
  std::size_t expected = sizeof(uint32_t);
  bool have_size = false;
  char buffer[65536];
  while (reply.size() < expected) {
    pollfd readable{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&readable, 1, remaining_ms(deadline));
    if (ready == 0) throw lost(fmt::format("no reply within {} s", limit.count() / 1000));
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw lost(std::strerror(errno));
    }
    const auto n = ::recv(fd_.get(), buffer, std::min(sizeof buffer, expected - reply.size()), 0);
    if (n == 0) throw lost("connection closed");
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      throw lost(std::strerror(errno));
    }
    reply.append(buffer, static_cast<std::size_t>(n));
    if (!have_size && reply.size() == sizeof(uint32_t)) {
      uint32_t size = 0;
      std::memcpy(&size, reply.data(), sizeof size);
      if (size > store::kMaxFrame) throw lost("a reply larger than any store value");
      expected += size;
      have_size = true;
    }
  }
  return reply.substr(sizeof(uint32_t));
}

StoreClient::Answer StoreClient::ask(const FrameWriter& request, const char* what, const std::string& key,
                                     std::chrono::milliseconds limit) {
  reply_ = exchange(request, limit);
  FrameReader fields(reply_.data(), reply_.size());
  const auto status = static_cast<Status>(fields.u8());
  if (status == Status::Refused) {
    throw DistributedError(fmt::format("rendezvous store refused {} of '{}': {}", what, key, fields.str()));
  }
  return {status, fields};
}

void StoreClient::set(const std::string& key, const store::Bytes& value) {
  ask(request(Op::Set).str(key).bytes(value), "set", key, timeout_);
}

store::Bytes StoreClient::compare_set(const std::string& key, const store::Bytes& expected, const store::Bytes& desired) {
  return ask(request(Op::CompareSet).str(key).bytes(expected).bytes(desired), "compare-and-set", key, timeout_)
      .fields.bytes();
}

std::optional<store::Bytes> StoreClient::get(const std::string& key, std::chrono::milliseconds timeout) {
  auto answer = ask(request(Op::Get).str(key).i64(timeout.count()), "get", key, blocking_limit(timeout));
  if (answer.status == Status::Timeout) return std::nullopt;
  return answer.fields.bytes();
}

int64_t StoreClient::add(const std::string& key, int64_t delta) {
  return ask(request(Op::Add).str(key).i64(delta), "add", key, timeout_).fields.i64();
}

bool StoreClient::remove(const std::string& key) {
  return ask(request(Op::Delete).str(key), "delete", key, timeout_).fields.u8() != 0;
}

bool StoreClient::check(const std::vector<std::string>& keys) {
  return ask(request(Op::Check).strs(keys), "check", keys.empty() ? "" : keys.front(), timeout_).fields.u8() != 0;
}

int64_t StoreClient::num_keys() { return ask(request(Op::NumKeys), "count", "", timeout_).fields.i64(); }

bool StoreClient::wait(const std::vector<std::string>& keys, std::chrono::milliseconds timeout) {
  return ask(request(Op::Wait).strs(keys).i64(timeout.count()), "wait", keys.empty() ? "" : keys.front(),
             blocking_limit(timeout))
             .status == Status::Ok;
}

}  // namespace bolt::dist
