#pragma once
// Strings through the rendezvous store, as the communicators' store_set/store_get.
#include <string>

#include <torch/csrc/distributed/c10d/Store.hpp>

namespace bolt::dist {

void set_store_value(c10d::Store& store, const std::string& key, const std::string& value);
// Throws PeerFailureError when the store cannot answer (rank 0, its host, is gone), and
// DistributedError when the key is not published within the store timeout.
std::string get_store_value(c10d::Store& store, const std::string& key);

}  // namespace bolt::dist
