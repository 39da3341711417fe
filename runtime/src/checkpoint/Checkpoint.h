#pragma once
// Model (+ optimizer) state and a JSON record of where training stood, in one file written
// atomically: temp file in the same directory, fsync, rename, fsync of the directory, so the
// previous good file survives a crash mid-write.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace bolt {

// Tensors kept beside the model, e.g. RNG states ("rng_cpu").
using CheckpointTensors = std::map<std::string, at::Tensor>;

// The optimizers of a fit, in configure_optimizers() order (none: weights only).
using CheckpointOptimizers = std::vector<torch::optim::Optimizer*>;

void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                     const CheckpointOptimizers& optimizers, const nlohmann::json& meta,
                     const CheckpointTensors& extra = {});

// Loads into `model` (and `optimizers` when given); returns the meta record. Throws
// CheckpointError naming the file when it is missing, corrupt, not Bolt's, or not this model's.
nlohmann::json load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                               const CheckpointOptimizers& optimizers, CheckpointTensors* extra = nullptr);

}  // namespace bolt
