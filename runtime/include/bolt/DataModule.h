#pragma once
// The seed's DataModule: a user subclass provides the datasets (setup_dataset), Bolt turns
// them into loaders for the current rank.
#include "bolt/Export.h"
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>

#include "bolt/Config.h"
#include "bolt/DataLoader.h"
#include "bolt/Dataset.h"
#include "bolt/RunContext.h"

namespace bolt {

struct BOLT_API DatasetSplits {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> val;  // null: split off train by num_splits
  std::shared_ptr<const Dataset> test;
};

class BOLT_API DataModule {
 public:
  explicit DataModule(const Config& config);
  virtual ~DataModule();

  // Keys every data module has: data_dir, num_splits, batch_size, num_workers, pin_memory,
  // drop_last, shuffle, split_seed, limit_train, limit_val, limit_test.
  static void declare_base_options(OptionSet& options);
  // A subclass hides this to declare its own keys (the seed's add_argparse_args).
  static void declare_options(OptionSet&) {}

  // Facts the model's config receives before the model is built (LightningCLI's linked
  // arguments), e.g. {"num_classes": 10, "vocab_size": 65}: each must be a key the model
  // declares; a value the user set to something else is an error. --print-config shows them.
  virtual nlohmann::json link_to_model() const { return nlohmann::json::object(); }

  // Optional one-time work (e.g. unpacking data), run on local rank 0 before setup_dataset.
  virtual void prepare_data() {}
  // Returns train/val/test; a null val is split off train (1/num_splits, fixed seed).
  virtual DatasetSplits setup_dataset() = 0;

  // Shards loaders over ranks with DistributedSampler semantics (set_context does it too).
  void use_dist_sampler(int64_t world_size, int64_t rank);
  // Runs setup_dataset once, splits and applies limit_* (idempotent).
  void setup();

  DataLoader train_dataloader();
  DataLoader val_dataloader();
  DataLoader test_dataloader();

  // Rank, world size and device of this process; set by the Trainer before prepare_data().
  // The loaders shard by its rank and world size.
  const RunContext& context() const { return context_; }
  void set_context(const RunContext& context) { context_ = context; }
  // The logger "bolt.data": rank 0's console and this rank's rank-<r>.log.
  spdlog::logger& log() const;

  const Config& config() const { return config_; }
  std::string data_dir() const;
  int64_t num_splits() const;
  int64_t batch_size() const;
  uint64_t seed() const { return seed_; }
  void set_seed(uint64_t seed) { seed_ = seed; }
  const DatasetSplits& splits() const { return splits_; }

 private:
  DataLoader make_loader(const std::shared_ptr<const Dataset>& dataset, bool train,
                         const char* which) const;
  bool device_cached() const;
  Config config_;
  DatasetSplits splits_;
  bool is_setup_ = false;
  uint64_t seed_ = 0;
  RunContext context_;
  mutable std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace bolt
