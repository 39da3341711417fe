// Bolt's rendezvous store: server (rank 0), clients (every rank), and the c10d::Store over them.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bolt/Error.h"
#include "dist/BoltStore.h"
#include "dist/StoreClient.h"
#include "dist/StoreServer.h"
#include "util/FileDescriptor.h"

using bolt::dist::StoreClient;
using bolt::dist::StoreServer;
using namespace std::chrono_literals;

namespace {

std::vector<uint8_t> bytes(const std::string& text) { return {text.begin(), text.end()}; }

// True when something accepts a TCP connection on ip:port.
bool accepts_on(const char* ip, int port) {
  bolt::FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &address.sin_addr);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("the store listens only where the plan puts the master", "[store]") {
  StoreServer loopback("127.0.0.1", 0, false);
  CHECK(loopback.listening_on() == "127.0.0.1:" + std::to_string(loopback.port()));
  CHECK(accepts_on("127.0.0.1", loopback.port()));
  CHECK_FALSE(accepts_on("127.0.0.2", loopback.port()));  // not on every interface
  // A job spanning nodes whose master name means loopback here: the other nodes need another address.
  StoreServer spanning("localhost", 0, true);
  CHECK(spanning.listening_on() == "*:" + std::to_string(spanning.port()));
  CHECK(accepts_on("127.0.0.2", spanning.port()));
  CHECK_THROWS_WITH(StoreServer("127.0.0.1", loopback.port(), false),
                    Catch::Contains("master port " + std::to_string(loopback.port()) + " on 127.0.0.1 is already in use"));
  CHECK_THROWS_WITH(StoreServer("192.0.2.1", 0, false),
                    Catch::Contains("MASTER_ADDR '192.0.2.1' (192.0.2.1) is not an address of this host"));
  CHECK_THROWS_AS(StoreServer("no-such-host.invalid", 0, false), bolt::DistributedError);
}

TEST_CASE("store operations keep c10d's semantics", "[store]") {
  StoreServer server("127.0.0.1", 0, false);
  StoreClient a("127.0.0.1", server.port(), 5s), b("127.0.0.1", server.port(), 5s);
  a.set("k", bytes("v1"));
  CHECK(b.get("k", 1s) == bytes("v1"));
  CHECK(b.check({"k"}));
  CHECK_FALSE(b.check({"k", "absent"}));
  CHECK(a.add("n", 5) == 5);
  CHECK(b.add("n", -2) == 3);
  CHECK(a.get("n", 1s) == bytes("3"));  // counters are decimal text, as c10d's are
  CHECK_THROWS_WITH(a.add("k", 1), Catch::Contains("holds a value that is not a counter"));
  CHECK(a.add("big", INT64_MAX) == INT64_MAX);
  CHECK_THROWS_WITH(a.add("big", 1), Catch::Contains("the counter would overflow"));
  // compare-and-set: absent + empty expected creates; a mismatch returns the current value.
  CHECK(a.compare_set("c", {}, bytes("x")) == bytes("x"));
  CHECK(a.compare_set("c", bytes("y"), bytes("z")) == bytes("x"));
  CHECK(a.compare_set("c", bytes("x"), bytes("z")) == bytes("z"));
  CHECK(a.compare_set("absent", bytes("e"), bytes("z")) == bytes("e"));
  CHECK(a.num_keys() == 4);
  CHECK(a.remove("c"));
  CHECK_FALSE(a.remove("c"));
  a.set("empty", {});
  CHECK(b.get("empty", 1s) == std::vector<uint8_t>{});
}

TEST_CASE("get and wait block until the keys appear, or answer at their timeout", "[store]") {
  StoreServer server("127.0.0.1", 0, false);
  StoreClient waiter("127.0.0.1", server.port(), 5s), writer("127.0.0.1", server.port(), 5s);
  std::thread later([&] {
    std::this_thread::sleep_for(200ms);
    writer.set("a", bytes("1"));
    writer.set("b", bytes("2"));
  });
  const auto start = std::chrono::steady_clock::now();
  CHECK(waiter.wait({"a", "b"}, 5s));
  CHECK(seconds_since(start) >= 0.15);
  later.join();
  CHECK(waiter.get("a", 1s) == bytes("1"));
  const auto timed = std::chrono::steady_clock::now();
  CHECK_FALSE(waiter.get("never", 300ms).has_value());
  CHECK_FALSE(waiter.wait({"a", "never"}, 300ms));
  CHECK(seconds_since(timed) < 2.0);
  // The connection is still in step after timeouts.
  CHECK(waiter.get("b", 1s) == bytes("2"));
}

TEST_CASE("a client whose master goes away fails at once, naming it", "[store]") {
  auto server = std::make_unique<StoreServer>("127.0.0.1", 0, false);
  const int port = server->port();
  StoreClient client("127.0.0.1", port, 5s);
  std::thread stop([&] {
    std::this_thread::sleep_for(200ms);
    server.reset();
  });
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(client.get("never", 60s), bolt::PeerFailureError);
  CHECK(seconds_since(start) < 5.0);
  stop.join();
  CHECK_THROWS_WITH(client.check({"x"}), Catch::Contains("lost the rendezvous store at 127.0.0.1:" + std::to_string(port)));
  // No master at all: the connection attempt is bounded by the timeout.
  const auto connecting = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(StoreClient("127.0.0.1", port, 500ms), Catch::Contains("did not come up within"));
  CHECK(seconds_since(connecting) < 3.0);
}

TEST_CASE("the server drops a client that speaks garbage and keeps serving the others", "[store]") {
  StoreServer server("127.0.0.1", 0, false);
  StoreClient good("127.0.0.1", server.port(), 5s);
  for (const auto& garbage : {std::string("\x05\0\0\0\x63hello", 9), std::string("\xff\xff\xff\xff", 4),
                                    std::string("\x02\0\0\0\x01\x05", 6)}) {
    bolt::FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(server.port()));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::send(fd.get(), garbage.data(), garbage.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(garbage.size()));
    char reply[16];
    CHECK(::recv(fd.get(), reply, sizeof reply, 0) <= 0);  // closed, no answer
  }
  good.set("still", bytes("here"));
  CHECK(good.get("still", 1s) == bytes("here"));
}

TEST_CASE("many ranks rendezvous through one server", "[store]") {
  StoreServer server("127.0.0.1", 0, false);
  constexpr int kRanks = 256;
  std::atomic<int> done{0};
  std::vector<std::thread> ranks;
  for (int r = 0; r < kRanks; ++r) {
    ranks.emplace_back([&, r] {
      StoreClient client("127.0.0.1", server.port(), 20s);
      client.set("addr/" + std::to_string(r), bytes(std::to_string(r)));
      if (client.add("arrived", 1) == kRanks) client.set("all", bytes("go"));
      if (client.wait({"all"}, 20s) && client.get("addr/" + std::to_string((r + 1) % kRanks), 5s) ==
                                           bytes(std::to_string((r + 1) % kRanks))) {
        ++done;
      }
    });
  }
  for (auto& t : ranks) t.join();
  CHECK(done == kRanks);
}

TEST_CASE("BoltStore is a c10d::Store: timeouts name the key, clones share the server", "[store]") {
  auto server = std::make_shared<StoreServer>("127.0.0.1", 0, false);
  auto store = c10::make_intrusive<bolt::dist::BoltStore>(server, "127.0.0.1", server->port(), 400ms);
  store->set("x", bytes("1"));
  auto copy = store->clone();
  CHECK(copy->get("x") == bytes("1"));
  CHECK_THROWS_WITH(store->get("missing"), Catch::Contains("rendezvous: 'missing' was not published within 0.4 s"));
  CHECK_THROWS_WITH(store->wait({"missing"}), Catch::Contains("were not published"));
  CHECK(store->getNumKeys() == 1);
}
