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

// read_idx through a cache of the decoded bytes in `cache_dir` (keyed by the file's name, size
// and modification time), so that later runs skip the gzip inflate. An unusable cache is
// ignored; an empty cache_dir reads directly.
at::Tensor read_idx_cached(const std::string& path, int expected_dims, const std::string& cache_dir);

}  // namespace fashion_mnist
