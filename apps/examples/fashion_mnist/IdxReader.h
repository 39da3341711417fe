#pragma once
// Reads the gzipped IDX files of MNIST-style datasets (magic, big-endian sizes, raw bytes).
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace fashion_mnist {

// A uint8 tensor shaped by the file's dimensions. Throws bolt::DataError naming the file when
// it is missing, not gzip/IDX, has the wrong magic or element type, or is truncated.
at::Tensor read_idx(const std::string& path, int expected_dims);

}  // namespace fashion_mnist
