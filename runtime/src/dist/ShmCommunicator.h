#pragma once
// The shm backend: collectives among a node's CPU ranks through shared memory (ShmGroup) and,
// on several nodes, hierarchically: each rank sums its chunk with the ranks of the same local
// rank on the other nodes through a gloo group of its own, between the two shared-memory steps.
#include <chrono>
#include <memory>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include "Communicator.h"

namespace bolt::dist {

// Every node must run the same number of ranks (the chunks of a reduction are per local rank).
bool shm_layout_supported(const WorkerEnvironment& env);

// Sets up (local rank 0) or opens the node's segment via the store and waits for the node's
// ranks. `between_nodes` is null on one node.
std::unique_ptr<Communicator> make_shm_communicator(
    const WorkerEnvironment& env, c10::intrusive_ptr<c10d::Store> store,
    c10::intrusive_ptr<c10d::ProcessGroupGloo> between_nodes, std::chrono::seconds timeout);

}  // namespace bolt::dist
