#pragma once
// Turns a dataset and a sampler into batches. With num_workers > 0 that many threads build
// the next batches while the current step runs; batches still come out in sampler order.
#include "bolt/Export.h"
#include <cstdint>
#include <memory>
#include <optional>

#include "bolt/Dataset.h"
#include "bolt/Sampler.h"

namespace bolt {

struct BOLT_API DataLoaderOptions {
  int64_t batch_size = 1;
  bool drop_last = false;
  int64_t num_workers = 0;
  bool pin_memory = false;
};

class BOLT_API BatchStream;

class BOLT_API DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, std::shared_ptr<const Sampler> sampler,
             DataLoaderOptions options);
  ~DataLoader();
  DataLoader(DataLoader&&) noexcept;
  DataLoader& operator=(DataLoader&&) noexcept;

  int64_t num_batches() const;
  int64_t num_samples() const;
  const DataLoaderOptions& options() const { return options_; }

  // Starts an epoch; the previous epoch's stream (and its threads) ends. `skip_batches` > 0
  // resumes it mid-way: the first batch is the one after those (same order as a full epoch).
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch of the current epoch, or nothing at its end.
  std::optional<Batch> next();

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::shared_ptr<const Sampler> sampler_;
  DataLoaderOptions options_;
  std::unique_ptr<BatchStream> stream_;
};

}  // namespace bolt
