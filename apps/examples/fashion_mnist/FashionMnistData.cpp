#include "FashionMnistData.h"

#include <filesystem>
#include <future>

#include <fmt/format.h>

#include "IdxReader.h"
#include "bolt/Error.h"

namespace fashion_mnist {

FashionMnistData::FashionMnistData(const bolt::Config& config) : bolt::DataModule(config) {}

void FashionMnistData::declare_options(bolt::OptionSet& options) {
  options.add_float("mean", 0.2860, "pixel mean subtracted after scaling to [0, 1]")
      .add_float("std", 0.3530, "pixel standard deviation divided by", 1e-6);
}

bolt::DatasetSplits FashionMnistData::setup_dataset() {
  const std::filesystem::path dir = data_dir();
  if (!std::filesystem::is_directory(dir)) {
    throw bolt::DataError(fmt::format(
        "data.data_dir {} is not a directory (apt-get install dataset-fashion-mnist puts the "
        "files in /usr/share/datasets/fashion-mnist)", dir.string()));
  }
  // The four files decode in parallel: decompression dominates start-up.
  auto read = [&](const char* name, int dims) {
    return std::async(std::launch::async, [path = (dir / name).string(), dims] { return read_idx(path, dims); });
  };
  auto train_images = read("train-images-idx3-ubyte.gz", 3);
  auto train_labels = read("train-labels-idx1-ubyte.gz", 1);
  auto test_images = read("t10k-images-idx3-ubyte.gz", 3);
  auto test_labels = read("t10k-labels-idx1-ubyte.gz", 1);
  const double mean = config().get_float("mean");
  const double std = config().get_float("std");
  auto make = [&](at::Tensor images, at::Tensor labels) {
    if (images.size(0) != labels.size(0)) {
      throw bolt::DataError(fmt::format("{} has {} images but {} labels", dir.string(),
                                        images.size(0), labels.size(0)));
    }
    auto inputs = images.to(at::kFloat).div_(255.0).sub_(mean).div_(std).unsqueeze(1);
    return std::make_shared<bolt::TensorDataset>(inputs.contiguous(), labels.to(at::kLong));
  };
  bolt::DatasetSplits splits;
  splits.train = make(train_images.get(), train_labels.get());
  splits.test = make(test_images.get(), test_labels.get());
  return splits;  // val: split off train by num_splits
}

}  // namespace fashion_mnist
