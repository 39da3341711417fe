// The IDX reader of the Fashion-MNIST data module, over a gzipped or plain file in memory:
// decoded with exactly the sizes its header announces, or refused with Bolt's error naming the
// file, and never allocating more than the input can hold.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "FuzzSupport.h"
#include "IdxFile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int dims = 1 + data[0] % 3;  // labels (1), images (3), and 2 for good measure
  const int fd = ::memfd_create("idx", MFD_CLOEXEC);
  if (fd < 0 || ::write(fd, data + 1, size - 1) != static_cast<ssize_t>(size - 1) || ::lseek(fd, 0, SEEK_SET) != 0) {
    bolt::fuzz::defect("memfd", "could not stage the input");
  }
  std::vector<uint8_t> bytes;
  bolt::fuzz::expect_only_bolt_errors(std::string(reinterpret_cast<const char*>(data), size), [&] {
    fashion_mnist::decode_idx(fd, size - 1, "fuzz.idx.gz", dims, [&](const std::vector<int64_t>& sizes) {
      int64_t total = 1;
      for (const auto s : sizes) total *= s;
      if (static_cast<std::size_t>(sizes.size()) != static_cast<std::size_t>(dims) || total > int64_t{1100} * static_cast<int64_t>(size) + 4096) {
        bolt::fuzz::defect("allocation beyond what the input can hold", std::to_string(total));
      }
      bytes.resize(static_cast<std::size_t>(total));
      return bytes.data();
    });
  });
  return 0;
}
