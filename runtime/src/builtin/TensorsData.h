#pragma once
// The built-in `tensors` data module: train/val/test from files saved in Python (a
// torch.save'd dict of equal-length tensors, an .npz archive, or name=file.npy per field); every
// field reaches the batch. Loaded once per process; sharded by the distributed sampler.
#include "bolt/DataModule.h"

namespace bolt::builtin {

class TensorsData : public DataModule {
 public:
  explicit TensorsData(const Config& config);
  static void declare_options(OptionSet& options);
  DatasetSplits setup_dataset() override;
};

}  // namespace bolt::builtin
