#include "TensorFile.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <regex>

#include <fmt/format.h>
#include <torch/serialize.h>
#include <zlib.h>

#include "../util/ErrorText.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt::builtin {

namespace {

std::string read_bytes(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw DataError(fmt::format("{} is not a readable file", file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw DataError(fmt::format("cannot read {}", file.string()));
  return bytes;
}

uint32_t le32(const std::string& b, std::size_t at) {
  if (at + 4 > b.size()) throw std::out_of_range("short");
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
  return v;
}
uint16_t le16(const std::string& b, std::size_t at) {
  if (at + 2 > b.size()) throw std::out_of_range("short");
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8));
}

std::string inflate_raw(const std::string& compressed, std::size_t size, const std::string& what) {
  std::string out(size, '\0');
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) throw DataError(fmt::format("{}: zlib failed", what));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&stream, Z_FINISH);
  inflateEnd(&stream);
  if (rc != Z_STREAM_END || stream.total_out != size) {
    throw DataError(fmt::format("{} is corrupt (its compressed data does not inflate)", what));
  }
  return out;
}

// The members of a zip archive (what np.savez writes), by name.
std::map<std::string, std::string> read_zip(const std::string& bytes, const fs::path& file) {
  const std::string what = file.string();
  try {
    // End of central directory: the last 22+ bytes (a comment may follow it).
    const std::size_t min_end = bytes.size() >= 22 ? bytes.size() - 22 : std::string::npos;
    std::size_t end = std::string::npos;
    for (std::size_t i = min_end; i != std::string::npos && i + 65557 >= bytes.size(); --i) {
      if (le32(bytes, i) == 0x06054b50) {
        end = i;
        break;
      }
      if (i == 0) break;
    }
    if (end == std::string::npos) throw DataError(fmt::format("{} is not a zip (.npz) archive", what));
    const auto entries = le16(bytes, end + 10);
    std::size_t at = le32(bytes, end + 16);
    std::map<std::string, std::string> members;
    for (uint16_t e = 0; e < entries; ++e) {
      if (le32(bytes, at) != 0x02014b50) throw DataError(fmt::format("{}: damaged zip directory", what));
      const auto method = le16(bytes, at + 10);
      const auto compressed = le32(bytes, at + 20);
      const auto size = le32(bytes, at + 24);
      const auto name_len = le16(bytes, at + 28);
      const auto extra_len = le16(bytes, at + 30);
      const auto comment_len = le16(bytes, at + 32);
      const auto local = le32(bytes, at + 42);
      const std::string name = bytes.substr(at + 46, name_len);
      at += 46u + name_len + extra_len + comment_len;
      if (compressed == 0xFFFFFFFFu || size == 0xFFFFFFFFu) {
        throw DataError(fmt::format("{}: member {} is over 4 GiB (zip64), which Bolt does not read; save "
                                    "it as .pt or split it", what, name));
      }
      if (le32(bytes, local) != 0x04034b50) throw DataError(fmt::format("{}: damaged zip member {}", what, name));
      const std::size_t data = local + 30u + le16(bytes, local + 26) + le16(bytes, local + 28);
      if (data + compressed > bytes.size()) throw DataError(fmt::format("{} is truncated", what));
      const std::string raw = bytes.substr(data, compressed);
      if (method == 0) {
        members[name] = raw;
      } else if (method == 8) {
        members[name] = inflate_raw(raw, size, what + ":" + name);
      } else {
        throw DataError(fmt::format("{}: member {} uses zip method {} (only stored and deflate)", what, name, method));
      }
    }
    return members;
  } catch (const std::out_of_range&) {
    throw DataError(fmt::format("{} is truncated or not a zip (.npz) archive", what));
  }
}

at::ScalarType npy_dtype(const std::string& descr, const std::string& what) {
  static const std::map<std::string, at::ScalarType> types = {
      {"<f4", at::kFloat}, {"<f8", at::kDouble}, {"<f2", at::kHalf},  {"<i8", at::kLong},
      {"<i4", at::kInt},   {"<i2", at::kShort},  {"|i1", at::kChar},  {"|u1", at::kByte},
      {"|b1", at::kBool}};
  const auto it = types.find(descr);
  if (it == types.end()) {
    throw DataError(fmt::format("{} holds dtype '{}', which has no tensor type here; use float32/64, "
                                "int8/16/32/64, uint8 or bool, little-endian (arr.astype(...))", what, descr));
  }
  return it->second;
}

}  // namespace

at::Tensor parse_npy(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    throw DataError(fmt::format("{} is not a NumPy .npy array", what));
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len, header_at;
  if (major == 1) {
    header_len = le16(bytes, 8);
    header_at = 10;
  } else {
    if (bytes.size() < 12) throw DataError(fmt::format("{} is truncated", what));
    header_len = le32(bytes, 8);
    header_at = 12;
  }
  if (header_at + header_len > bytes.size()) throw DataError(fmt::format("{} is truncated", what));
  const std::string header = bytes.substr(header_at, header_len);
  static const std::regex descr_re(R"('descr':\s*'([^']*)')");
  static const std::regex order_re(R"('fortran_order':\s*(True|False))");
  static const std::regex shape_re(R"('shape':\s*\(([^)]*)\))");
  std::smatch descr, order, shape;
  if (!std::regex_search(header, descr, descr_re) || !std::regex_search(header, order, order_re) ||
      !std::regex_search(header, shape, shape_re)) {
    throw DataError(fmt::format("{}: malformed .npy header", what));
  }
  const auto dtype = npy_dtype(descr[1], what);
  std::vector<int64_t> sizes;
  static const std::regex number_re(R"(\d+)");
  const std::string dims = shape[1];
  int64_t count = 1;
  for (std::sregex_iterator it(dims.begin(), dims.end(), number_re), end; it != end; ++it) {
    const auto n = std::stoll(it->str());
    if (n > (int64_t{1} << 40)) throw DataError(fmt::format("{}: dimension {} is implausible", what, n));
    sizes.push_back(n);
    count *= n;
  }
  const std::size_t data_at = header_at + header_len;
  const auto element = static_cast<std::size_t>(c10::elementSize(dtype));
  if (bytes.size() - data_at != static_cast<std::size_t>(count) * element) {
    throw DataError(fmt::format("{}: its header says {} elements of {} bytes but it holds {} bytes of data",
                                what, count, element, bytes.size() - data_at));
  }
  auto tensor = at::empty(sizes, at::TensorOptions().dtype(dtype));
  if (count > 0) std::memcpy(tensor.data_ptr(), bytes.data() + data_at, bytes.size() - data_at);
  if (order[1] == "True") {
    // Fortran order: the reversed shape in C order, its axes reversed back.
    std::vector<int64_t> reversed(sizes.rbegin(), sizes.rend()), axes;
    for (auto i = static_cast<int64_t>(sizes.size()); i-- > 0;) axes.push_back(i);
    tensor = tensor.view(reversed).permute(axes).contiguous();
  }
  return tensor;
}

at::Tensor read_npy_file(const fs::path& file) { return parse_npy(read_bytes(file), file.string()); }

std::map<std::string, at::Tensor> read_tensor_dict(const fs::path& file) {
  const auto bytes = read_bytes(file);
  std::map<std::string, at::Tensor> out;
  if (file.extension() == ".npz") {
    for (const auto& [name, member] : read_zip(bytes, file)) {
      const auto field = name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0 ? name.substr(0, name.size() - 4) : name;
      out[field] = parse_npy(member, file.string() + ":" + name);
    }
    return out;
  }
  if (file.extension() == ".npy") {
    throw DataError(fmt::format("{} is one array: name it, as inputs={} (and targets=... for the targets), "
                                "or save a dict with torch.save / np.savez", file.string(), file.string()));
  }
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    throw DataError(fmt::format("{} is not a file torch.save wrote ({}); save a dict of tensors with "
                                "torch.save({{'inputs': X, 'targets': Y}}, path)", file.string(),
                                library_message(e)));
  }
  if (!value.isGenericDict()) {
    throw DataError(fmt::format("{} holds a {}, not a dict of tensors: save {{'inputs': X, 'targets': Y}}",
                                file.string(), value.tagKind()));
  }
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) {
      throw DataError(fmt::format("{}: every entry must be a string key and a tensor (found {} → {})",
                                  file.string(), item.key().tagKind(), item.value().tagKind()));
    }
    out[item.key().toStringRef()] = item.value().toTensor();
  }
  return out;
}

}  // namespace bolt::builtin
