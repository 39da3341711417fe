#include "NormalizedImages.h"

#include <fmt/format.h>

#include "bolt/Error.h"

namespace fashion_mnist {

NormalizedImages::NormalizedImages(const at::Tensor& images, const at::Tensor& labels, double mean, double std)
    : images_(images.contiguous()), labels_(labels.to(at::kLong).contiguous()),
      // ATen computes a float tensor's ops with a double scalar in float.
      mean_(static_cast<float>(mean)), std_(static_cast<float>(std)),
      pixels_(images_.dim() > 0 && images_.size(0) > 0 ? images_[0].numel() : 0) {
  if (images_.scalar_type() != at::kByte) throw bolt::DataError("NormalizedImages: images must be uint8");
  if (labels_.dim() != 1 || labels_.size(0) != images_.size(0)) {
    throw bolt::DataError(fmt::format("NormalizedImages: {} images but {} labels", images_.size(0), labels_.numel()));
  }
}

bolt::Batch NormalizedImages::get_batch(const std::vector<int64_t>& indices) const {
  const auto n = static_cast<int64_t>(indices.size());
  auto shape = images_.sizes().vec();
  shape[0] = n;
  auto inputs = at::empty(shape, at::kFloat);
  auto targets = at::empty({n}, at::kLong);
  const auto* pixels = images_.data_ptr<uint8_t>();
  const auto* labels = labels_.data_ptr<int64_t>();
  auto* out = inputs.data_ptr<float>();
  auto* out_labels = targets.data_ptr<int64_t>();
  const float mean = mean_, std = std_;  // locals: stores to the batch cannot alias them
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = indices[static_cast<std::size_t>(i)];
    if (index < 0 || index >= size()) {
      throw bolt::DataError(fmt::format("sample index {} is out of range for {} images", index, size()));
    }
    const uint8_t* image = pixels + index * pixels_;
    float* row = out + i * pixels_;
    // IEEE division and subtraction, as ATen's kernels do them: the same floats as the tensor
    // ops, and a loop the compiler vectorises (2x faster than a gather through a table).
    for (int64_t p = 0; p < pixels_; ++p) row[p] = (static_cast<float>(image[p]) / 255.0f - mean) / std;
    out_labels[i] = labels[index];
  }
  bolt::Batch batch;
  batch.inputs = std::move(inputs);
  batch.targets = std::move(targets);
  return batch;
}

}  // namespace fashion_mnist
