#pragma once
#include <string>

#include "bolt/DataModule.h"

namespace fashion_mnist {

// Fashion-MNIST from the four gzipped IDX files in data_dir (Debian's dataset-fashion-mnist
// installs them in /usr/share/datasets/fashion-mnist), normalised to zero mean, unit variance.
class FashionMnistData : public bolt::DataModule {
 public:
  explicit FashionMnistData(const bolt::Config& config);
  static void declare_options(bolt::OptionSet& options);
  bolt::DatasetSplits setup_dataset() override;
  // $BOLT_CACHE_DIR, else $XDG_CACHE_HOME/bolt, else ~/.cache/bolt.
  static std::string default_cache_dir();
};

}  // namespace fashion_mnist
