#include "BoltStore.h"

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt::dist {

namespace {

std::string seconds(std::chrono::milliseconds timeout) { return fmt::format("{:g} s", timeout.count() / 1000.0); }

}  // namespace

BoltStore::BoltStore(std::shared_ptr<StoreServer> server, const std::string& host, int port,
                     std::chrono::milliseconds timeout)
    : c10d::Store(timeout), server_(std::move(server)), client_(host, port, timeout) {}

void BoltStore::set(const std::string& key, const std::vector<uint8_t>& value) {
  std::lock_guard<std::mutex> lock(mutex_);
  client_.set(key, value);
}

std::vector<uint8_t> BoltStore::compareSet(const std::string& key, const std::vector<uint8_t>& expected,
                                           const std::vector<uint8_t>& desired) {
  std::lock_guard<std::mutex> lock(mutex_);
  return client_.compare_set(key, expected, desired);
}

std::vector<uint8_t> BoltStore::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto value = client_.get(key, timeout_);
  if (!value) {
    throw DistributedError(fmt::format("rendezvous: '{}' was not published within {} (trainer.dist_timeout_s): "
                                       "a rank did not arrive", key, seconds(timeout_)));
  }
  return std::move(*value);
}

int64_t BoltStore::add(const std::string& key, int64_t value) {
  std::lock_guard<std::mutex> lock(mutex_);
  return client_.add(key, value);
}

bool BoltStore::deleteKey(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  return client_.remove(key);
}

bool BoltStore::check(const std::vector<std::string>& keys) {
  std::lock_guard<std::mutex> lock(mutex_);
  return client_.check(keys);
}

int64_t BoltStore::getNumKeys() {
  std::lock_guard<std::mutex> lock(mutex_);
  return client_.num_keys();
}

void BoltStore::wait(const std::vector<std::string>& keys) { wait(keys, timeout_); }

void BoltStore::wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!client_.wait(keys, timeout)) {
    throw DistributedError(fmt::format("rendezvous: {} key(s) from '{}' on were not published within {} "
                                       "(trainer.dist_timeout_s): a rank did not arrive",
                                       keys.size(), keys.empty() ? "" : keys.front(), seconds(timeout)));
  }
}

c10::intrusive_ptr<c10d::Store> BoltStore::clone() {
  return c10::make_intrusive<BoltStore>(server_, client_.host(), client_.port(), timeout_);
}

}  // namespace bolt::dist
