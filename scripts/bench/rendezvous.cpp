// Rendezvous as a job grows, simulated on one machine: rank 0 hosts libtorch's TCPStore the
// way bolt-worker does (c10d::TCPStore, server in rank 0's process), N-1 client threads
// connect and all pass one store barrier (add a counter; the last arrival sets the key the
// others wait for). Prints one JSON line per N: connect and barrier seconds.
//   bench_rendezvous N...   (e.g. 8 64 256 1024)
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

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

void simulate(int64_t world, uint16_t port) {
  c10d::TCPStoreOptions server_options;
  server_options.port = port;
  server_options.isServer = true;
  server_options.numWorkers = static_cast<std::size_t>(world);
  server_options.waitWorkers = false;
  server_options.timeout = std::chrono::seconds(120);
  const auto start = Clock::now();
  c10d::TCPStore server("127.0.0.1", server_options);
  std::atomic<int64_t> connected{1};
  std::atomic<double> last_connect{0};
  std::vector<std::thread> clients;
  for (int64_t r = 1; r < world; ++r) {
    clients.emplace_back([&, r] {
      c10d::TCPStoreOptions options = server_options;
      options.isServer = false;
      c10d::TCPStore client("127.0.0.1", options);
      const double t = since(start);
      double seen = last_connect.load();
      while (t > seen && !last_connect.compare_exchange_weak(seen, t)) {}
      ++connected;
      barrier(client, world);
      (void)r;
    });
  }
  barrier(server, world);
  const double all_passed = since(start);
  for (auto& c : clients) c.join();
  std::printf("{\"ranks\": %ld, \"connect_s\": %.4f, \"connect_and_barrier_s\": %.4f}\n",
              static_cast<long>(world), last_connect.load(), all_passed);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  raise_file_limit();
  uint16_t port = 29900;
  for (int i = 1; i < argc; ++i) simulate(std::atoll(argv[i]), port++);
}
