#include "bolt/DataModule.h"

#include <fmt/format.h>

#include "DeviceCachedDataset.h"
#include "bolt/Error.h"
#include "bolt/Loggers.h"

namespace bolt {

namespace {
constexpr int64_t kMaxLoaderThreads = 256;
}  // namespace

DataModule::DataModule(const Config& config) : config_(config) {}
DataModule::~DataModule() = default;

void DataModule::declare_base_options(OptionSet& options) {
  options.add_string("data_dir", "data", "directory the data module reads its files from")
      .add_int("num_splits", 10, "1/num_splits of the train set becomes the validation set", 2)
      .add_int("batch_size", 1, "samples per batch on each rank", 1)
      .add_int("num_workers", 0, "threads that build batches ahead of the step", 0)
      .add_bool("pin_memory", false, "page-lock batches for faster copies to a GPU (always on for an accelerator)")
      .add_bool("device_cache", false,
                "keep the datasets on the accelerator and gather batches there (no copy per step)")
      .add_bool("drop_last", false, "drop the last incomplete training batch")
      .add_bool("shuffle", true, "reshuffle the train set every epoch (seed + epoch)")
      .add_int("split_seed", 0, "seed of the permutation that splits train/val", 0)
      .add_int("limit_train", 0, "use only the first N training samples (0 = all)", 0)
      .add_int("limit_val", 0, "use only the first N validation samples (0 = all)", 0)
      .add_int("limit_test", 0, "use only the first N test samples (0 = all)", 0);
}

std::string DataModule::data_dir() const { return config_.get_string("data_dir"); }
int64_t DataModule::num_splits() const { return config_.get_int("num_splits"); }
int64_t DataModule::batch_size() const { return config_.get_int("batch_size"); }
bool DataModule::device_cached() const {
  return config_.get_bool("device_cache") && !context_.device.is_cpu();
}

void DataModule::use_dist_sampler(int64_t world_size, int64_t rank) {
  context_.world_size = world_size;
  context_.rank = rank;
}

void DataModule::setup() {
  if (is_setup_) return;
  DatasetSplits splits = setup_dataset();
  if (!splits.val && splits.train) {
    auto [train, val] = split_train_val(splits.train, num_splits(),
                                        static_cast<uint64_t>(config_.get_int("split_seed")));
    splits.train = train;
    splits.val = val;
  }
  splits.train = limit_dataset(splits.train, config_.get_int("limit_train"));
  splits.val = limit_dataset(splits.val, config_.get_int("limit_val"));
  splits.test = limit_dataset(splits.test, config_.get_int("limit_test"));
  if (device_cached()) {
    const auto cache = [&](std::shared_ptr<const Dataset>& set, const char* which) {
      if (set) set = std::make_shared<DeviceCachedDataset>(*set, context_.device, which);
    };
    cache(splits.train, "train");
    cache(splits.val, "validation");
    cache(splits.test, "test");
  }
  splits_ = std::move(splits);
  is_setup_ = true;
}

DataLoader DataModule::make_loader(const std::shared_ptr<const Dataset>& dataset, bool train,
                                   const char* which) const {
  if (!is_setup_) throw Error("DataModule::setup() must run before its loaders are used");
  if (!dataset || dataset->size() == 0) {
    throw DataError(fmt::format("the data module has no {} set", which));
  }
  DataLoaderOptions options;
  options.batch_size = batch_size();
  // A device-resident set is gathered on the device by the step's thread; otherwise batches
  // for an accelerator are built in pinned memory, which copies asynchronously.
  options.num_workers = device_cached() ? 0 : config_.get_int("num_workers");
  if (options.num_workers > kMaxLoaderThreads) {
    throw ConfigError(fmt::format("data.num_workers {} is more loader threads than {} (each holds batches "
                                  "in memory): use a few per core", options.num_workers, kMaxLoaderThreads));
  }
  options.pin_memory = !device_cached() && (config_.get_bool("pin_memory") || !context_.device.is_cpu());
  options.drop_last = train && config_.get_bool("drop_last");
  std::shared_ptr<const Sampler> sampler;
  if (train) {
    sampler = std::make_shared<DistributedSampler>(dataset->size(), context_.world_size, context_.rank,
                                                   config_.get_bool("shuffle"), seed_,
                                                   options.drop_last);
  } else {
    sampler = std::make_shared<ShardSampler>(dataset->size(), context_.world_size, context_.rank);
  }
  return DataLoader(dataset, sampler, options);
}

DataLoader DataModule::train_dataloader() { return make_loader(splits_.train, true, "train"); }
DataLoader DataModule::val_dataloader() { return make_loader(splits_.val, false, "validation"); }
DataLoader DataModule::test_dataloader() { return make_loader(splits_.test, false, "test"); }

spdlog::logger& DataModule::log() const {
  if (!logger_) logger_ = get_logger("data");
  return *logger_;
}

}  // namespace bolt
