#include "StoreValues.h"

#include <fmt/format.h>

#include "../util/ErrorText.h"
#include "bolt/Error.h"

namespace bolt::dist {

void set_store_value(c10d::Store& store, const std::string& key, const std::string& value) {
  store.set(key, std::vector<uint8_t>(value.begin(), value.end()));
}

std::string get_store_value(c10d::Store& store, const std::string& key) {
  std::vector<uint8_t> bytes;
  try {
    bytes = store.get(key);
  } catch (const Error&) {
    throw;  // Bolt's store says what happened (a rank late, rank 0 gone)
  } catch (const std::exception& e) {
    throw PeerFailureError(fmt::format("rendezvous store read of {} failed (rank 0 probably died): {}",
                                       key, first_line(e.what())));
  }
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace bolt::dist
