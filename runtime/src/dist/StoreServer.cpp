#include "StoreServer.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "../util/FileDescriptor.h"
#include "StoreState.h"
#include "bolt/Error.h"

namespace bolt::dist {

namespace {

using store::Clock;

struct Connection {
  FileDescriptor fd;
  std::string in;   // received, not yet handled
  std::string out;  // to send
  bool writable_armed = false;
};

bool is_loopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
  }
  return false;
}

std::string numeric_host(const sockaddr* address, socklen_t size) {
  char host[NI_MAXHOST] = "?";
  ::getnameinfo(address, size, host, sizeof host, nullptr, 0, NI_NUMERICHOST);
  return host;
}

}  // namespace

struct StoreServer::Loop {
  FileDescriptor listener{-1};
  FileDescriptor epoll{-1};
  FileDescriptor stop{-1};
  int port = 0;
  std::string where;
  std::map<int, Connection> connections;
  store::StoreState state{[this](int fd, std::string frame) { queue(fd, std::move(frame)); }};
  std::thread thread;

  void queue(int fd, std::string frame) {
    auto found = connections.find(fd);
    if (found != connections.end()) found->second.out += frame;
  }
  void watch(int fd, uint32_t events, int op) {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    ::epoll_ctl(epoll.get(), op, fd, &event);
  }
  void close_connection(int fd) {
    state.forget(fd);
    ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    connections.erase(fd);  // closes it
  }
  void accept_all() {
    while (true) {
      const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a connection that went away while queued
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      connections.emplace(fd, Connection{FileDescriptor(fd), {}, {}, false});
      watch(fd, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
    }
  }
  // Handles the complete frames received, unless the connection waits on a get/wait.
  bool handle_frames(int fd, Connection& c) {
    std::size_t used = 0;
    while (!state.waiting(fd) && c.in.size() - used >= sizeof(uint32_t)) {
      uint32_t size = 0;
      std::memcpy(&size, c.in.data() + used, sizeof size);
      if (size > store::kMaxFrame) return false;
      if (c.in.size() - used - sizeof size < size) break;
      try {
        state.handle(fd, c.in.substr(used + sizeof size, size), Clock::now());
      } catch (const store::MalformedFrame&) {
        return false;  // not a Bolt client: drop it
      }
      used += sizeof size + size;
    }
    c.in.erase(0, used);
    return true;
  }
  bool receive(int fd, Connection& c) {
    char buffer[65536];
    while (true) {
      const auto n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        c.in.append(buffer, static_cast<std::size_t>(n));
        // A client has one request in flight; more than two frames' worth is not a Bolt client.
        if (c.in.size() > 2 * (store::kMaxFrame + sizeof(uint32_t))) return false;
        continue;
      }
      if (n == 0) return false;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
  }
  bool flush(int fd, Connection& c) {
    while (!c.out.empty()) {
      const auto n = ::send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == EINTR) continue;
        return false;
      }
      c.out.erase(0, static_cast<std::size_t>(n));
    }
    const bool want_writable = !c.out.empty();
    if (want_writable != c.writable_armed) {
      watch(fd, EPOLLIN | EPOLLRDHUP | (want_writable ? EPOLLOUT : 0u), EPOLL_CTL_MOD);
      c.writable_armed = want_writable;
    }
    return true;
  }
  void serve(int fd, uint32_t events) {
    auto found = connections.find(fd);
    if (found == connections.end()) return;
    auto& c = found->second;
    bool alive = !(events & EPOLLERR);
    if (alive && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))) alive = receive(fd, c);
    if (alive) alive = handle_frames(fd, c) && flush(fd, c);
    if (!alive) close_connection(fd);
  }
  // Answers the waiters whose deadline passed, sends what the answered ones are owed and
  // handles the requests they queued meanwhile (which may answer others in turn); returns the
  // next deadline.
  std::optional<Clock::time_point> settle() {
    while (true) {
      const auto next = state.expire(Clock::now());
      const auto woken = state.take_woken();
      if (woken.empty()) return next;
      for (const int fd : woken) serve(fd, 0);
    }
  }
  void run() {
    std::vector<epoll_event> events(256);
    while (true) {
      const auto next = settle();
      int wait_ms = -1;
      if (next) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*next - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<int64_t>(left + 1, 0, 60000));
      }
      const int n = ::epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), wait_ms);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == stop.get()) return;
        if (fd == listener.get()) accept_all();
        else serve(fd, events[i].events);
      }
    }
  }
};

namespace {

using AddressList = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

AddressList resolve(const char* host, int port, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  const int resolved = ::getaddrinfo(host, std::to_string(port).c_str(), &hints, &found);
  if (resolved != 0 || found == nullptr) {
    throw DistributedError(fmt::format("cannot resolve MASTER_ADDR '{}' ({}): check the address of the rank-0 host",
                                       host ? host : "*", ::gai_strerror(resolved)));
  }
  return AddressList(found, &freeaddrinfo);
}

bool all_loopback(const addrinfo* addresses) {
  for (auto* a = addresses; a != nullptr; a = a->ai_next) {
    if (!is_loopback(a->ai_addr)) return false;
  }
  return true;
}

}  // namespace

StoreServer::StoreServer(const std::string& host, int port, bool job_spans_nodes) : loop_(std::make_unique<Loop>()) {
  auto addresses = resolve(host.c_str(), port, false);
  // Other nodes cannot reach a loopback address: the name must mean another interface to them.
  const bool any_interface = job_spans_nodes && all_loopback(addresses.get());
  if (any_interface) addresses = resolve(nullptr, port, true);
  int last_error = 0;
  std::string tried;
  // With AI_PASSIVE, IPv6's "::" (which also takes IPv4) comes after 0.0.0.0: prefer it.
  std::vector<const addrinfo*> order;
  for (auto* a = addresses.get(); a != nullptr; a = a->ai_next) {
    if (any_interface && a->ai_family == AF_INET6) order.insert(order.begin(), a);
    else order.push_back(a);
  }
  for (const auto* a : order) {
    FileDescriptor fd(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) continue;
    const int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) {
      last_error = errno;
      tried = numeric_host(a->ai_addr, a->ai_addrlen);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t size = sizeof bound;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &size);
    loop_->port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                    : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    loop_->where = fmt::format("{}:{}", any_interface ? "*" : numeric_host(a->ai_addr, a->ai_addrlen), loop_->port);
    loop_->listener = std::move(fd);
    break;
  }
  if (loop_->listener.get() < 0) {
    if (last_error == EADDRINUSE) {
      throw PortInUseError(fmt::format("master port {} on {} is already in use: pick another with --master-port "
                                         "(or 0 for a free one)", port, host));
    }
    if (last_error == EADDRNOTAVAIL) {
      throw DistributedError(fmt::format("MASTER_ADDR '{}' ({}) is not an address of this host, where rank 0 runs: "
                                         "give the master host's own name or address", host, tried));
    }
    throw DistributedError(fmt::format("cannot listen on {}:{} for the rendezvous store: {}", host, port,
                                       std::strerror(last_error)));
  }
  loop_->epoll = FileDescriptor(::epoll_create1(EPOLL_CLOEXEC));
  loop_->stop = FileDescriptor(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (loop_->epoll.get() < 0 || loop_->stop.get() < 0) {
    throw DistributedError(fmt::format("cannot start the rendezvous store: {}", std::strerror(errno)));
  }
  loop_->watch(loop_->listener.get(), EPOLLIN, EPOLL_CTL_ADD);
  loop_->watch(loop_->stop.get(), EPOLLIN, EPOLL_CTL_ADD);
  loop_->thread = std::thread([loop = loop_.get()] { loop->run(); });
}

StoreServer::~StoreServer() {
  const uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(loop_->stop.get(), &one, sizeof one);
  if (loop_->thread.joinable()) loop_->thread.join();
}

int StoreServer::port() const { return loop_->port; }
std::string StoreServer::listening_on() const { return loop_->where; }

}  // namespace bolt::dist
