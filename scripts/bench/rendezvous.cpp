// Rendezvous as a job grows, simulated on one machine, for two stores side by side: Bolt's
// (dist/BoltStore: StoreServer in rank 0's process, what bolt-worker uses) and libtorch's
// c10d::TCPStore (what it used before, and what torchrun uses). Rank 0 serves, N-1 client
// threads connect and all pass one store barrier (add a counter; the last arrival sets the key
// the others wait for). Prints one JSON line per store and N: connect and barrier seconds.
//   bench_rendezvous N...   (e.g. 8 64 256 1024)
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "dist/BoltStore.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void raise_file_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

void barrier(c10d::Store& store, int64_t world) {
  if (store.add("arrived", 1) == world) store.set("go", std::vector<uint8_t>{1});
  store.wait({"go"});
}

constexpr auto kTimeout = std::chrono::seconds(120);

c10::intrusive_ptr<c10d::Store> open_store(bool bolt, bool server, uint16_t port, int64_t world,
                                           std::shared_ptr<bolt::dist::StoreServer>& bolt_server) {
  if (bolt) {
    if (server) bolt_server = std::make_shared<bolt::dist::StoreServer>("127.0.0.1", port, false);
    return c10::make_intrusive<bolt::dist::BoltStore>(server ? bolt_server : nullptr, "127.0.0.1", port, kTimeout);
  }
  c10d::TCPStoreOptions options;
  options.port = port;
  options.isServer = server;
  options.numWorkers = static_cast<std::size_t>(world);
  options.waitWorkers = false;
  options.timeout = kTimeout;
  return c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
}

void simulate(bool bolt, int64_t world, uint16_t port) {
  const auto start = Clock::now();
  std::shared_ptr<bolt::dist::StoreServer> bolt_server;
  auto server = open_store(bolt, true, port, world, bolt_server);
  std::atomic<double> last_connect{0};
  std::vector<std::thread> clients;
  for (int64_t r = 1; r < world; ++r) {
    clients.emplace_back([&] {
      std::shared_ptr<bolt::dist::StoreServer> unused;
      auto client = open_store(bolt, false, port, world, unused);
      const double t = since(start);
      double seen = last_connect.load();
      while (t > seen && !last_connect.compare_exchange_weak(seen, t)) {}
      barrier(*client, world);
    });
  }
  barrier(*server, world);
  const double all_passed = since(start);
  for (auto& c : clients) c.join();
  std::printf("{\"store\": \"%s\", \"ranks\": %ld, \"connect_s\": %.4f, \"connect_and_barrier_s\": %.4f}\n",
              bolt ? "bolt" : "tcpstore", static_cast<long>(world), last_connect.load(), all_passed);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  raise_file_limit();
  uint16_t port = 29900;
  for (int i = 1; i < argc; ++i) {
    for (const bool bolt : {true, false}) simulate(bolt, std::atoll(argv[i]), port++);
  }
}
