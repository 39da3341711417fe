#include "bolt/DataLoader.h"

#include "bolt/Error.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

namespace bolt {

namespace {

// Not (n + batch - 1) / batch: that overflows for a batch size near 2^63.
int64_t batches_in(int64_t samples, int64_t batch_size, bool drop_last) {
  return samples / batch_size + (!drop_last && samples % batch_size != 0 ? 1 : 0);
}

}  // namespace

// One epoch of batches. Without workers it builds each batch on demand; with workers the
// threads build up to 2 × num_workers batches ahead and the consumer takes them in order.
class BatchStream {
 public:
  BatchStream(const Dataset& dataset, std::vector<int64_t> indices, const DataLoaderOptions& options,
              int64_t skip_batches)
      : dataset_(dataset), indices_(std::move(indices)), options_(options) {
    const auto n = static_cast<int64_t>(indices_.size());
    num_batches_ = batches_in(n, options_.batch_size, options_.drop_last);
    consumed_ = next_to_build_ = taken_ = std::clamp<int64_t>(skip_batches, 0, num_batches_);
    const int64_t lookahead = 2 * options_.num_workers;
    try {
      for (int64_t w = 0; w < options_.num_workers; ++w) {
        workers_.emplace_back([this, lookahead] { work(lookahead); });
      }
    } catch (const std::system_error& e) {
      // The destructor does not run for a half-built object: stop the threads started so far.
      stop_workers();
      throw DataError(fmt::format("data.num_workers {}: could not start loader thread {} ({}): use fewer",
                                  options_.num_workers, workers_.size() + 1, e.what()));
    }
  }

  ~BatchStream() { stop_workers(); }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  std::optional<Batch> next() {
    if (consumed_ >= num_batches_) return std::nullopt;
    const int64_t k = consumed_++;
    if (workers_.empty()) return build(k);
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return ready_.count(k) > 0 || error_; });
    if (error_) std::rethrow_exception(error_);
    Batch batch = std::move(ready_[k]);
    ready_.erase(k);
    taken_ = k + 1;
    lock.unlock();
    changed_.notify_all();
    return batch;
  }

 private:
  Batch build(int64_t k) const {
    const auto begin = static_cast<std::size_t>(k * options_.batch_size);
    const auto end = std::min(indices_.size(), begin + static_cast<std::size_t>(options_.batch_size));
    std::vector<int64_t> ids(indices_.begin() + static_cast<std::ptrdiff_t>(begin),
                             indices_.begin() + static_cast<std::ptrdiff_t>(end));
    Batch batch = dataset_.get_batch(ids);
    if (options_.pin_memory) batch = batch.map([](const at::Tensor& t) { return t.pin_memory(); });
    return batch;
  }

  void work(int64_t lookahead) {
    while (true) {
      int64_t k;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] {
          return stopping_ || error_ || next_to_build_ >= num_batches_ ||
                 next_to_build_ < taken_ + lookahead;
        });
        if (stopping_ || error_ || next_to_build_ >= num_batches_) return;
        k = next_to_build_++;
      }
      try {
        Batch batch = build(k);
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.emplace(k, std::move(batch));
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
      }
      changed_.notify_all();
    }
  }

  const Dataset& dataset_;
  const std::vector<int64_t> indices_;
  const DataLoaderOptions options_;
  int64_t num_batches_ = 0;
  int64_t consumed_ = 0;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int64_t, Batch> ready_;
  int64_t next_to_build_ = 0;
  int64_t taken_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset,
                       std::shared_ptr<const Sampler> sampler, DataLoaderOptions options)
    : dataset_(std::move(dataset)), sampler_(std::move(sampler)), options_(options) {}

DataLoader::~DataLoader() = default;
DataLoader::DataLoader(DataLoader&&) noexcept = default;
DataLoader& DataLoader::operator=(DataLoader&&) noexcept = default;

int64_t DataLoader::num_samples() const { return sampler_->size(); }

int64_t DataLoader::num_batches() const {
  return batches_in(sampler_->size(), options_.batch_size, options_.drop_last);
}

void DataLoader::start_epoch(int64_t epoch, int64_t skip_batches) {
  stream_.reset();
  stream_ = std::make_unique<BatchStream>(*dataset_, sampler_->indices(epoch), options_, skip_batches);
}

std::optional<Batch> DataLoader::next() {
  if (!stream_) return std::nullopt;
  auto batch = stream_->next();
  if (!batch) stream_.reset();
  return batch;
}

}  // namespace bolt
