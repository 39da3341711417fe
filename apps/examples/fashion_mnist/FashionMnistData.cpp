#include "FashionMnistData.h"

#include <filesystem>
#include <cstdlib>
#include <future>

#include <fmt/format.h>

#include "IdxReader.h"
#include "NormalizedImages.h"
#include "bolt/Error.h"

namespace fashion_mnist {

FashionMnistData::FashionMnistData(const bolt::Config& config) : bolt::DataModule(config) {}

void FashionMnistData::declare_options(bolt::OptionSet& options) {
  options.add_float("mean", 0.2860, "pixel mean subtracted after scaling to [0, 1]")
      .add_float("std", 0.3530, "pixel standard deviation divided by", 1e-6)
      .add_string("cache_dir", default_cache_dir(),
                  "where decoded IDX files are cached (empty: no cache)");
}

std::string FashionMnistData::default_cache_dir() {
  if (const char* dir = std::getenv("BOLT_CACHE_DIR")) return dir;
  if (const char* dir = std::getenv("XDG_CACHE_HOME")) return std::string(dir) + "/bolt";
  if (const char* home = std::getenv("HOME")) return std::string(home) + "/.cache/bolt";
  return "";
}

bolt::DatasetSplits FashionMnistData::setup_dataset() {
  const std::filesystem::path dir = data_dir();
  if (!std::filesystem::is_directory(dir)) {
    throw bolt::DataError(fmt::format(
        "data.data_dir {} is not a directory (apt-get install dataset-fashion-mnist puts the "
        "files in /usr/share/datasets/fashion-mnist)", dir.string()));
  }
  // The four files decode in parallel: decompression dominates start-up.
  const auto cache = config().get_string("cache_dir");
  auto read = [&](const char* name, int dims) {
    return std::async(std::launch::async, [path = (dir / name).string(), dims, cache] {
      return read_idx_cached(path, dims, cache);
    });
  };
  auto train_images = read("train-images-idx3-ubyte.gz", 3);
  auto train_labels = read("train-labels-idx1-ubyte.gz", 1);
  auto test_images = read("t10k-images-idx3-ubyte.gz", 3);
  auto test_labels = read("t10k-labels-idx1-ubyte.gz", 1);
  const double mean = config().get_float("mean");
  const double std = config().get_float("std");
  auto make = [&](at::Tensor images, at::Tensor labels, const char* labels_file) {
    if (images.size(0) != labels.size(0)) {
      throw bolt::DataError(fmt::format("{} has {} images but {} labels", dir.string(),
                                        images.size(0), labels.size(0)));
    }
    // Fashion-MNIST has 10 classes: a label beyond them would surface as libtorch's
    // "Target N is out of bounds" at some step, naming neither the file nor the sample.
    constexpr int64_t kClasses = 10;
    if (labels.numel() > 0 && labels.max().item<int64_t>() >= kClasses) {
      const auto index = labels.argmax().item<int64_t>();
      throw bolt::DataError(fmt::format("{}: sample {} has label {}, but Fashion-MNIST has classes 0-{}: the file "
                                        "is corrupt or not Fashion-MNIST's", (dir / labels_file).string(), index,
                                        labels[index].item<int64_t>(), kClasses - 1));
    }
    return std::make_shared<NormalizedImages>(images.unsqueeze(1), labels, mean, std);
  };
  bolt::DatasetSplits splits;
  splits.train = make(train_images.get(), train_labels.get(), "train-labels-idx1-ubyte.gz");
  splits.test = make(test_images.get(), test_labels.get(), "t10k-labels-idx1-ubyte.gz");
  return splits;  // val: split off train by num_splits
}

}  // namespace fashion_mnist
