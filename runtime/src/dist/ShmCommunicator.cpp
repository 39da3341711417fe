#include "ShmCommunicator.h"

#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "../util/ErrorText.h"
#include "ShmGroup.h"
#include "StoreValues.h"
#include "bolt/Error.h"

namespace bolt::dist {

namespace {

// Runs collectives one after another, in the order they were asked for (the order every rank
// asks in), on its own thread while the caller goes on with backward. A caller about to wait
// runs the oldest queued collectives itself while that thread is idle: the last bucket, asked
// for when backward ends, then costs no hand-off to that thread and back. After a failure every
// later collective fails with the same error: the group's state is no longer agreed.
class SerialExecutor {
 public:
  SerialExecutor() : thread_([this] { run(); }) {}
  ~SerialExecutor() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  SerialExecutor(const SerialExecutor&) = delete;
  SerialExecutor& operator=(const SerialExecutor&) = delete;

  std::future<void> submit(std::function<void()> task) {
    std::packaged_task<void()> packaged([this, task = std::move(task)] {
      if (failure_) std::rethrow_exception(failure_);
      try {
        task();
      } catch (...) {
        failure_ = std::current_exception();
        throw;
      }
    });
    auto future = packaged.get_future();
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(packaged));
    }
    wake_.notify_one();
    return future;
  }

  // Runs queued collectives on the calling thread until `done` is ready or the executor's
  // thread is running one (then the caller waits as before).
  void help_until(const std::future<void>& done) {
    while (done.wait_for(std::chrono::seconds(0)) != std::future_status::ready && run_next(false)) {
    }
  }

 private:
  // Takes the oldest collective unless one is running (or, on the executor's thread, waits for
  // one); false when there was none to take.
  bool run_next(bool on_executor) {
    std::packaged_task<void()> task;
    {
      std::unique_lock lock(mutex_);
      if (on_executor) wake_.wait(lock, [this] { return stopping_ || (!running_ && !queue_.empty()); });
      if (running_ || queue_.empty()) return false;
      task = std::move(queue_.front());
      queue_.pop_front();
      running_ = true;
    }
    task();
    {
      std::lock_guard lock(mutex_);
      running_ = false;
    }
    wake_.notify_one();
    return true;
  }
  void run() {
    while (run_next(true)) {
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::packaged_task<void()>> queue_;
  bool running_ = false;         // a collective runs, on either thread: one at a time
  bool stopping_ = false;
  std::exception_ptr failure_;   // touched by the thread running a collective only
  std::thread thread_;           // last: starts once the rest exists
};

class FutureWork : public PendingWork {
 public:
  FutureWork(const std::shared_ptr<SerialExecutor>& executor, std::future<void> done)
      : executor_(executor), done_(std::move(done)) {}
  void wait() override {
    try {
      if (auto executor = executor_.lock()) executor->help_until(done_);
      done_.get();
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw PeerFailureError(fmt::format("collective between nodes failed (a peer rank probably died): {}",
                                         first_line(e.what())));
    }
  }

 private:
  std::weak_ptr<SerialExecutor> executor_;  // a pending collective may outlive its communicator
  std::future<void> done_;
};

class ShmCommunicator : public Communicator {
 public:
  ShmCommunicator(const WorkerEnvironment& env, c10::intrusive_ptr<c10d::Store> store,
                  c10::intrusive_ptr<c10d::ProcessGroupGloo> between_nodes, ShmGroup group)
      : rank_(env.rank), size_(env.world_size), local_rank_(env.local_rank),
        store_(std::move(store)), between_nodes_(std::move(between_nodes)), group_(std::move(group)) {}
  // A rank leaving with a collective still pending (an error unwinding the step) must not wait
  // for peers that will never come: pending and queued collectives give up.
  ~ShmCommunicator() override {
    group_.abandon();
    executor_.reset();
  }

  int64_t rank() const override { return rank_; }
  int64_t size() const override { return size_; }
  const char* backend() const override { return between_nodes_ ? "shm+gloo" : "shm"; }

  std::unique_ptr<PendingWork> allreduce_sum_async(at::Tensor& tensor, std::string_view purpose) override {
    return allreduce_scaled_async(tensor, purpose, 1.0);
  }
  // The division rides on the reduction's own pass over the tensor.
  std::unique_ptr<PendingWork> allreduce_mean_async(at::Tensor& tensor, std::string_view purpose) override {
    return allreduce_scaled_async(tensor, purpose, 1.0 / static_cast<double>(size_));
  }

  void broadcast(at::Tensor& tensor, int64_t root, std::string_view purpose) override {
    if (!between_nodes_) {
      // The root's local rank: ranks of one node are one node's local ranks, in order.
      const int64_t root_local = root - (rank_ - local_rank_);
      FutureWork(executor_, executor_->submit([this, tensor, root_local, label = std::string(purpose)]() mutable {
        group_.broadcast(tensor, root_local, label);
      })).wait();
      return;
    }
    // Across nodes: a sum in which only the root contributes (x + 0 is exact).
    if (rank_ != root) tensor.zero_();
    allreduce_sum(tensor, purpose);
  }

  void barrier(std::string_view purpose) override {
    auto token = at::zeros({1});
    allreduce_sum(token, purpose);
  }

  void store_set(const std::string& key, const std::string& value) override {
    set_store_value(*store_, key, value);
  }
  std::string store_get(const std::string& key) override { return get_store_value(*store_, key); }

 private:
  std::unique_ptr<PendingWork> allreduce_scaled_async(at::Tensor& tensor, std::string_view purpose, double scale) {
    return std::make_unique<FutureWork>(executor_, executor_->submit([this, tensor, scale, label = std::string(purpose)]() mutable {
      if (!between_nodes_) return group_.allreduce_sum(tensor, {}, label, scale);
      group_.allreduce_sum(tensor, [this](at::Tensor& chunk) {
        std::vector<at::Tensor> tensors{chunk};
        between_nodes_->allreduce(tensors)->wait();
      }, label, scale);
    }));
  }

  int64_t rank_, size_, local_rank_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> between_nodes_;
  ShmGroup group_;
  std::shared_ptr<SerialExecutor> executor_ = std::make_shared<SerialExecutor>();
};

}  // namespace

bool shm_layout_supported(const WorkerEnvironment& env) {
  // Equal ranks per node on every node follows from each node's count times the node count
  // being the world size.
  return env.local_world_size >= 1 && env.local_world_size <= ShmGroup::kMaxLocalRanks &&
         env.nnodes * env.local_world_size == env.world_size &&
         env.rank - env.local_rank == env.node_rank * env.local_world_size;
}

std::unique_ptr<Communicator> make_shm_communicator(
    const WorkerEnvironment& env, c10::intrusive_ptr<c10d::Store> store,
    c10::intrusive_ptr<c10d::ProcessGroupGloo> between_nodes, std::chrono::seconds timeout) {
  const ShmMember me{env.local_rank, env.local_world_size, env.rank};
  const auto name_key = fmt::format("bolt/shm/node{}/segment", env.node_rank);
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
  auto group = [&] {
    if (env.local_rank == 0) {
      remove_stale_segments();
      const auto name = shm_segment_name(::getpid(), env.run_id, env.node_rank, env.restart_count);
      ShmGroup created(ShmSegment::create(name, ShmGroup::segment_bytes(env.local_world_size)), me, true, wait);
      set_store_value(*store, name_key, name);
      return created;
    }
    return ShmGroup(ShmSegment::open(get_store_value(*store, name_key)), me, false, wait);
  }();
  group.attach();
  return std::make_unique<ShmCommunicator>(env, std::move(store), std::move(between_nodes), std::move(group));
}

}  // namespace bolt::dist
