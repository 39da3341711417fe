#include "StoreValues.h"

#include <fmt/format.h>

#include "../util/ErrorText.h"
#include "bolt/Error.h"

namespace bolt::dist {

// Every value travels behind a one-byte tag. libtorch 1.13's TCPStore server answers a get
// with the value's size sent MSG_MORE, then the bytes; an empty value has no bytes, so the
// size stays corked in the kernel for 200 ms (an empty resume path cost every DDP start that).
constexpr char kTag = 'v';

void set_store_value(c10d::Store& store, const std::string& key, const std::string& value) {
  std::vector<uint8_t> bytes;
  bytes.reserve(value.size() + 1);
  bytes.push_back(static_cast<uint8_t>(kTag));
  bytes.insert(bytes.end(), value.begin(), value.end());
  store.set(key, bytes);
}

std::string get_store_value(c10d::Store& store, const std::string& key) {
  std::vector<uint8_t> bytes;
  try {
    bytes = store.get(key);
  } catch (const std::exception& e) {
    throw PeerFailureError(fmt::format("rendezvous store read of {} failed (rank 0 probably died): {}",
                                       key, first_line(e.what())));
  }
  if (bytes.empty() || bytes.front() != static_cast<uint8_t>(kTag)) {
    throw DistributedError(fmt::format("rendezvous store key {} holds a value Bolt did not write: is "
                                       "another job using this master port?", key));
  }
  return std::string(bytes.begin() + 1, bytes.end());
}

}  // namespace bolt::dist
