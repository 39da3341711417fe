#include "RecordingCommunicator.h"

#include "../util/ErrorText.h"

namespace bolt::dist {

namespace {

using diagnosis::ActivityLog;
using diagnosis::Doing;

int64_t bytes_of(const at::Tensor& t) { return t.numel() * static_cast<int64_t>(t.element_size()); }

// Marks the wait, and the collective's end or failure, whichever way wait() leaves.
template <class Wait>
void recorded_wait(ActivityLog& log, uint64_t seq, Wait&& wait) {
  const Doing before = log.waiting_for(seq);
  try {
    wait();
  } catch (const std::exception& e) {
    log.collective_failed(seq, first_line(e.what()), before);
    throw;
  }
  log.collective_finished(seq, before);
}

class RecordedWork : public PendingWork {
 public:
  RecordedWork(std::unique_ptr<PendingWork> inner, ActivityLog& log, uint64_t seq)
      : inner_(std::move(inner)), log_(log), seq_(seq) {}
  void wait() override { recorded_wait(log_, seq_, [this] { inner_->wait(); }); }

 private:
  std::unique_ptr<PendingWork> inner_;
  ActivityLog& log_;
  uint64_t seq_;
};

class RecordingCommunicator : public Communicator {
 public:
  RecordingCommunicator(std::unique_ptr<Communicator> inner, ActivityLog& log)
      : inner_(std::move(inner)), log_(log) {}

  int64_t rank() const override { return inner_->rank(); }
  int64_t size() const override { return inner_->size(); }
  const char* backend() const override { return inner_->backend(); }

  std::unique_ptr<PendingWork> allreduce_sum_async(at::Tensor& tensor, std::string_view purpose) override {
    return recorded_allreduce(tensor, purpose, [&] { return inner_->allreduce_sum_async(tensor, purpose); });
  }
  std::unique_ptr<PendingWork> allreduce_mean_async(at::Tensor& tensor, std::string_view purpose) override {
    return recorded_allreduce(tensor, purpose, [&] { return inner_->allreduce_mean_async(tensor, purpose); });
  }

  void broadcast(at::Tensor& tensor, int64_t root, std::string_view purpose) override {
    const auto seq = log_.collective_started("broadcast", purpose, bytes_of(tensor));
    recorded_wait(log_, seq, [&] { inner_->broadcast(tensor, root, purpose); });
  }

  void barrier(std::string_view purpose) override {
    const auto seq = log_.collective_started("barrier", purpose, 0);
    recorded_wait(log_, seq, [&] { inner_->barrier(purpose); });
  }

  void store_set(const std::string& key, const std::string& value) override { inner_->store_set(key, value); }
  std::string store_get(const std::string& key) override { return inner_->store_get(key); }

 private:
  template <class Start>
  std::unique_ptr<PendingWork> recorded_allreduce(const at::Tensor& tensor, std::string_view purpose, Start&& start) {
    const auto seq = log_.collective_started("allreduce", purpose, bytes_of(tensor));
    std::unique_ptr<PendingWork> work;
    try {
      work = start();
    } catch (const std::exception& e) {
      log_.collective_failed(seq, first_line(e.what()), Doing::Collective);
      throw;
    }
    return std::make_unique<RecordedWork>(std::move(work), log_, seq);
  }

  std::unique_ptr<Communicator> inner_;
  ActivityLog& log_;
};

}  // namespace

std::unique_ptr<Communicator> make_recording_communicator(std::unique_ptr<Communicator> inner,
                                                          diagnosis::ActivityLog& log) {
  return std::make_unique<RecordingCommunicator>(std::move(inner), log);
}

}  // namespace bolt::dist
