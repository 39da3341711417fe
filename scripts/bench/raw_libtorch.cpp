// The Fashion-MNIST CNN trained by a plain libtorch loop, without Bolt: the baseline of Bolt's
// single-process overhead. Same model, data, split, batch and optimizer as the example.
//   bench_raw_libtorch DATA_DIR EPOCHS BATCH [DEVICE [MAX_STEPS]] → one JSON line: train samples/s per
//   epoch (MAX_STEPS > 0 ends each epoch after that many steps, as Bolt's trainer.max_steps does),
//   with the training's start and end as Unix times (scripts/bench/interleave.py needs them).
// On a GPU the whole train set lives on the device (the fastest a raw loop can feed it).
// BENCH_LOCKSTEP=IN_FIFO,OUT_FIFO: two such processes meet after every step (one byte each way,
// no data exchanged), as DDP ranks do; it separates what lockstep costs from what DDP's
// gradient exchange costs. BENCH_LOCKSTEP_SPIN=1: wait for the other by polling, not sleeping.
// BENCH_TRAIN_METRICS=1: also sums each step's loss and accuracy, as a hand-written loop that
// reports what Bolt's epoch line reports (train loss and score) would.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "IdxReader.h"

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Cnn : torch::nn::Module {
  torch::nn::Conv2d conv1{torch::nn::Conv2dOptions(1, 32, 3)}, conv2{torch::nn::Conv2dOptions(32, 64, 3)};
  torch::nn::Linear fc1{1600, 128}, fc2{128, 10};
  Cnn() {
    register_module("conv1", conv1);
    register_module("conv2", conv2);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }
  torch::Tensor forward(torch::Tensor x) {
    namespace F = torch::nn::functional;
    x = F::max_pool2d(torch::relu(conv1->forward(x)), F::MaxPool2dFuncOptions(2));
    x = F::max_pool2d(torch::relu(conv2->forward(x)), F::MaxPool2dFuncOptions(2));
    return fc2->forward(torch::relu(fc1->forward(x.flatten(1))));
  }
};

// Opened read-write so neither process blocks in open() waiting for the other.
struct Lockstep {
  int in = -1, out = -1;
  Lockstep() {
    const char* fifos = std::getenv("BENCH_LOCKSTEP");
    if (!fifos) return;
    const std::string both(fifos);
    const auto comma = both.find(',');
    in = ::open(both.substr(0, comma).c_str(), O_RDWR);
    out = ::open(both.substr(comma + 1).c_str(), O_RDWR);
    if (in < 0 || out < 0) {
      std::cerr << "BENCH_LOCKSTEP: cannot open " << both << "\n";
      std::exit(1);
    }
    if (std::getenv("BENCH_LOCKSTEP_SPIN")) ::fcntl(in, F_SETFL, O_NONBLOCK);
  }
  double waited_s = 0;
  void meet() {
    if (in < 0) return;
    const auto start = std::chrono::steady_clock::now();
    char byte = 1;
    if (::write(out, &byte, 1) != 1) std::exit(1);
    while (::read(in, &byte, 1) != 1) {
      if (errno != EAGAIN) std::exit(1);
    }
    waited_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 1;
  const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 16;
  const torch::Device device(argc > 4 ? argv[4] : "cpu");
  const int64_t max_steps = argc > 5 ? std::atoll(argv[5]) : 0;
  Lockstep lockstep;
  const bool train_metrics = std::getenv("BENCH_TRAIN_METRICS") != nullptr;
  torch::manual_seed(42);
  auto images = fashion_mnist::read_idx(dir + "/train-images-idx3-ubyte.gz", 3).to(torch::kFloat).div_(255).sub_(0.2860).div_(0.3530).unsqueeze(1);
  auto labels = fashion_mnist::read_idx(dir + "/train-labels-idx1-ubyte.gz", 1).to(torch::kLong);
  const int64_t n = images.size(0), n_val = n / 10;
  auto split = torch::randperm(n, at::make_generator<at::CPUGeneratorImpl>(0), torch::kLong);
  auto train_x = images.index_select(0, split.narrow(0, n_val, n - n_val));
  auto train_y = labels.index_select(0, split.narrow(0, n_val, n - n_val));
  train_x = train_x.to(device);
  train_y = train_y.to(device);
  auto model = std::make_shared<Cnn>();
  model->to(device);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.02).momentum(0.9));
  std::cout << "{\"epochs\": [";
  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto perm = torch::randperm(train_x.size(0), at::make_generator<at::CPUGeneratorImpl>(42 + epoch), torch::kLong).to(device);
    lockstep.meet();  // both start timing together: neither counts the other's start-up
    lockstep.waited_s = 0;
    const auto start = std::chrono::steady_clock::now();
    const double start_unix = unix_now();
    int64_t samples = 0, steps = 0, correct = 0;
    double loss_sum = 0;
    for (int64_t b = 0; b < train_x.size(0) && (max_steps <= 0 || steps < max_steps); b += batch) {
      auto index = perm.narrow(0, b, std::min(batch, train_x.size(0) - b));
      auto x = train_x.index_select(0, index), y = train_y.index_select(0, index);
      optimizer.zero_grad();
      auto logits = model->forward(x);
      auto loss = torch::nn::functional::cross_entropy(logits, y);
      loss.backward();
      optimizer.step();
      if (train_metrics) {
        at::NoGradGuard no_grad;
        loss_sum += loss.item<double>() * static_cast<double>(x.size(0));
        correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      }
      lockstep.meet();
      samples += x.size(0);
      ++steps;
    }
    if (device.is_cuda()) torch::cuda::synchronize();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    steps = std::max<int64_t>(steps, 1);
    std::cout << (epoch ? ", " : "") << "{\"epoch\": " << epoch + 1 << ", \"train_samples_per_s\": " << samples / seconds
              << ", \"step_ms\": " << 1000 * seconds / steps << ", \"lockstep_wait_ms\": " << 1000 * lockstep.waited_s / steps
              << std::fixed << std::setprecision(6) << ", \"start_unix\": " << start_unix << ", \"end_unix\": " << unix_now()
              << std::defaultfloat;
    if (train_metrics) {
      std::cout << ", \"train_loss\": " << loss_sum / static_cast<double>(samples)
                << ", \"train_score\": " << static_cast<double>(correct) / static_cast<double>(samples);
    }
    std::cout << "}";
  }
  std::cout << "]}" << std::endl;
}
