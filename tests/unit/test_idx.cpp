#include <zlib.h>

#include <catch2/catch.hpp>

#include "IdxReader.h"
#include "NormalizedImages.h"
#include "bolt/Error.h"
#include "test_support.h"

namespace {
std::string gzip_file(const TempDir& dir, const std::string& name, const std::vector<unsigned char>& bytes) {
  const auto path = (dir.path / name).string();
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
  return path;
}
std::vector<unsigned char> images_idx(int n, int rows, int cols) {
  std::vector<unsigned char> bytes = {0, 0, 8, 3, 0, 0, 0, static_cast<unsigned char>(n), 0, 0, 0,
                                      static_cast<unsigned char>(rows), 0, 0, 0, static_cast<unsigned char>(cols)};
  for (int i = 0; i < n * rows * cols; ++i) bytes.push_back(static_cast<unsigned char>(i));
  return bytes;
}
}  // namespace

TEST_CASE("IDX: a good file gives its shape and bytes", "[idx]") {
  TempDir dir;
  auto t = fashion_mnist::read_idx(gzip_file(dir, "ok.gz", images_idx(3, 2, 4)), 3);
  CHECK(t.sizes() == at::IntArrayRef({3, 2, 4}));
  CHECK(t.flatten()[5].item<int>() == 5);
  auto labels = fashion_mnist::read_idx(gzip_file(dir, "l.gz", {0, 0, 8, 1, 0, 0, 0, 2, 7, 9}), 1);
  CHECK(labels.size(0) == 2);
  CHECK(labels[1].item<int>() == 9);
}

TEST_CASE("IDX: truncated, wrong magic, trailing bytes, not gzip, missing", "[idx]") {
  TempDir dir;
  auto bytes = images_idx(3, 2, 4);
  auto truncated = bytes;
  truncated.resize(bytes.size() - 5);
  CHECK_THROWS_WITH(fashion_mnist::read_idx(gzip_file(dir, "t.gz", truncated), 3),
                    Catch::Contains("is truncated: its data needs 24 bytes, the file has 19"));
  auto magic = bytes;
  magic[2] = 0x0D;
  CHECK_THROWS_WITH(fashion_mnist::read_idx(gzip_file(dir, "m.gz", magic), 3),
                    Catch::Contains("is not an IDX file of 3-dimensional unsigned bytes"));
  CHECK_THROWS_WITH(fashion_mnist::read_idx(gzip_file(dir, "dims.gz", bytes), 1), Catch::Contains("magic"));
  auto trailing = bytes;
  trailing.push_back(1);
  CHECK_THROWS_WITH(fashion_mnist::read_idx(gzip_file(dir, "x.gz", trailing), 3), Catch::Contains("bytes after"));
  // A gzip stream cut in the middle.
  const auto whole = gzip_file(dir, "whole.gz", images_idx(100, 28, 28));
  std::ifstream in(whole, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  const auto cut = dir.write("cut.gz", content.substr(0, content.size() / 2));
  CHECK_THROWS_AS(fashion_mnist::read_idx(cut, 3), bolt::DataError);
  CHECK_THROWS_WITH(fashion_mnist::read_idx((dir.path / "none.gz").string(), 3), Catch::Contains("does not exist"));
}

TEST_CASE("IDX: a header that lies about its size is refused before allocating", "[idx]") {
  TempDir dir;
  // 60000 x 2^20 x 4 bytes announced (~250 GB) in a file of a few dozen bytes.
  const std::vector<unsigned char> liar = {0, 0, 8, 3, 0, 0, 0xEA, 0x60, 0, 0x10, 0, 0, 0, 0, 0, 4, 1, 2, 3};
  CHECK_THROWS_WITH(fashion_mnist::read_idx(gzip_file(dir, "liar.gz", liar), 3), Catch::Contains("cannot hold that many"));
  const std::vector<unsigned char> huge = {0, 0, 8, 3, 0x0F, 0xFF, 0xFF, 0xFF, 0x0F, 0xFF, 0xFF, 0xFF, 0x0F, 0xFF, 0xFF, 0xFF};
  CHECK_THROWS_WITH(fashion_mnist::read_idx(gzip_file(dir, "huge.gz", huge), 3), Catch::Contains("more than 1 TB"));
}

TEST_CASE("IDX cache: a damaged entry is discarded and rebuilt, every time", "[idx]") {
  TempDir dir;
  const auto source = gzip_file(dir, "ok.gz", images_idx(3, 2, 4));
  const auto cache = dir.path / "cache";
  auto first = fashion_mnist::read_idx_cached(source, 3, cache.string());
  REQUIRE(std::distance(std::filesystem::directory_iterator(cache), {}) == 1);
  const auto entry = std::filesystem::directory_iterator(cache)->path();
  for (const auto& damage : {std::string("BOLTIDX1\x03\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 24),
                             std::string("BOLTIDX1"), std::string("garbage")}) {
    std::ofstream(entry, std::ios::binary | std::ios::trunc) << damage;
    auto again = fashion_mnist::read_idx_cached(source, 3, cache.string());
    CHECK(again.equal(first));
    CHECK(std::filesystem::file_size(entry) > damage.size());  // rebuilt
  }
}

TEST_CASE("normalised images: each batch holds exactly (x / 255 - mean) / std of its samples, in order", "[idx]") {
  auto images = at::randint(0, 256, {50, 1, 28, 28}, at::kByte);
  auto labels = at::randint(0, 10, {50}, at::kByte);
  const double mean = 0.2860, std = 0.3530;
  fashion_mnist::NormalizedImages data(images, labels, mean, std);
  const std::vector<int64_t> indices = {49, 0, 7, 7, 23};
  const auto batch = data.get_batch(indices);
  const auto index = at::tensor(indices, at::kLong);
  // The formula on whole tensors: the per-batch table must give the same floats, bit for bit.
  const auto expected = images.index_select(0, index).to(at::kFloat).div_(255.0).sub_(mean).div_(std);
  CHECK(batch.inputs.sizes() == expected.sizes());
  CHECK(at::equal(batch.inputs, expected));
  CHECK(at::equal(batch.targets, labels.index_select(0, index).to(at::kLong)));
  // Every pixel value, for a few mean/std pairs: bit for bit the tensor ops' floats.
  const auto every_value = at::arange(256, at::kByte).reshape({1, 1, 16, 16});
  for (const auto& [m, s] : std::vector<std::pair<double, double>>{{mean, std}, {0.1307, 0.3081}, {0.5, 0.5}, {-3.7, 1e-3}}) {
    fashion_mnist::NormalizedImages all(every_value, at::zeros({1}, at::kLong), m, s);
    CHECK(at::equal(all.get_batch({0}).inputs, every_value.to(at::kFloat).div_(255.0).sub_(m).div_(s)));
  }
  CHECK_THROWS_WITH(data.get_batch({50}), Catch::Contains("sample index 50 is out of range for 50 images"));
  CHECK_THROWS_AS(data.get_batch({-1}), bolt::DataError);
}
