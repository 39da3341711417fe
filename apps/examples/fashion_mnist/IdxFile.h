#pragma once
// The IDX format of MNIST-style datasets, gzipped or not: magic (two zero bytes, element type
// 0x08 = unsigned byte, dimension count), big-endian 32-bit sizes, raw bytes. Torch-free (the
// fuzz harness decodes from memory without libtorch); IdxReader puts the bytes in a tensor.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace fashion_mnist {

// Where the decoded bytes go: called once with the sizes, returns room for their product.
using IdxAllocate = std::function<uint8_t*(const std::vector<int64_t>& sizes)>;

// Decodes the IDX file open at `fd` (taken over and closed) of `file_size` bytes; `name`
// names it in errors. Throws bolt::DataError when it is not gzip/IDX, has the wrong magic or
// element type, sizes it cannot hold, or is truncated or too long. Never allocates more than
// the file can plausibly hold (deflate packs at most ~1032:1).
void decode_idx(int fd, uint64_t file_size, const std::string& name, int expected_dims, const IdxAllocate& allocate);

}  // namespace fashion_mnist
