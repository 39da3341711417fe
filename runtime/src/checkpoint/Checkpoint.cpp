#include "Checkpoint.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "../util/ErrorText.h"
#include "CheckpointRecord.h"
#include "../util/FileDescriptor.h"
#include "bolt/Error.h"

namespace fs = std::filesystem;

namespace bolt {

namespace {

constexpr const char* kMetaKey = "bolt_meta";

// The first optimizer keeps the name older checkpoints use.
std::string optimizer_key(std::size_t index) {
  return index == 0 ? std::string("optimizer") : fmt::format("optimizer_{}", index);
}

[[noreturn]] void fail(const fs::path& path, const std::string& why) {
  throw CheckpointError(fmt::format("checkpoint {}: {}", path.string(), why));
}

// A writer killed mid-write leaves its ".<name>.tmp.<pid>" behind; the next writer removes
// those whose process is gone.
void remove_stale_temp_files(const fs::path& dir, const std::string& name) {
  const std::string prefix = "." + name + ".tmp.";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto file = entry.path().filename().string();
    if (file.rfind(prefix, 0) != 0) continue;
    char* end = nullptr;
    const long pid = std::strtol(file.c_str() + prefix.size(), &end, 10);
    if (end == nullptr || *end != '\0' || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

}  // namespace

void save_checkpoint(const fs::path& path, torch::nn::Module& model,
                     const CheckpointOptimizers& optimizers, const nlohmann::json& meta,
                     const CheckpointTensors& extra) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  for (std::size_t i = 0; i < optimizers.size(); ++i) {
    torch::serialize::OutputArchive optimizer_archive;
    optimizers[i]->save(optimizer_archive);
    archive.write(optimizer_key(i), optimizer_archive);
  }
  archive.write(kMetaKey, c10::IValue(meta.dump()));
  if (!extra.empty()) {
    torch::serialize::OutputArchive extra_archive;
    for (const auto& [key, tensor] : extra) extra_archive.write(key, tensor);
    archive.write("extra", extra_archive);
  }

  const auto dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  remove_stale_temp_files(dir, path.filename().string());
  const auto temp = dir / fmt::format(".{}.tmp.{}", path.filename().string(), ::getpid());
  // Created exclusively and never through a link: whatever sits at the temp name (a planted
  // symlink, a file of an earlier process with our pid) is unlinked, not written through.
  constexpr int kCreate = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int raw = ::open(temp.c_str(), kCreate, 0644);
  if (raw < 0 && errno == EEXIST && ::unlink(temp.c_str()) == 0) raw = ::open(temp.c_str(), kCreate, 0644);
  FileDescriptor fd(raw);
  if (fd.get() < 0) fail(path, fmt::format("cannot create {}: {}", temp.string(), std::strerror(errno)));
  bool write_ok = true;
  archive.save_to([&](const void* data, size_t size) -> size_t {
    const char* bytes = static_cast<const char*>(data);
    size_t done = 0;
    while (write_ok && done < size) {
      const ssize_t n = ::write(fd.get(), bytes + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        write_ok = false;
        break;
      }
      done += static_cast<size_t>(n);
    }
    return size;
  });
  const bool synced = ::fsync(fd.get()) == 0;
  const bool closed = ::close(fd.release()) == 0;
  if (!write_ok || !synced || !closed) {
    ::unlink(temp.c_str());
    fail(path, fmt::format("writing failed: {}", std::strerror(errno)));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    fail(path, fmt::format("cannot rename into place: {}", std::strerror(error)));
  }
  FileDescriptor dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
}

nlohmann::json load_checkpoint(const fs::path& path, torch::nn::Module& model,
                               const CheckpointOptimizers& optimizers, CheckpointTensors* extra) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) fail(path, fs::is_directory(path, ec) ? "a directory, not a checkpoint file" : "no such file");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path.string());
  } catch (const std::exception&) {
    fail(path, "not a readable checkpoint (corrupt or truncated?)");
  }
  c10::IValue meta_value;
  if (!archive.try_read(kMetaKey, meta_value) || !meta_value.isString()) {
    fail(path, "not a Bolt checkpoint (no bolt_meta record)");
  }
  const auto meta = parse_checkpoint_record(meta_value.toStringRef(), path);
  // libtorch's Module::load replaces tensors without comparing shapes: check them ourselves.
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& item : model.named_parameters()) shapes[item.key()] = item.value().sizes().vec();
  for (const auto& item : model.named_buffers()) shapes[item.key()] = item.value().sizes().vec();
  try {
    torch::serialize::InputArchive model_archive;
    if (!archive.try_read("model", model_archive)) fail(path, "it holds no model state");
    model.load(model_archive);
    auto check = [&](const std::string& name, const at::Tensor& tensor) {
      const auto& expected = shapes.at(name);
      if (tensor.sizes().vec() != expected) {
        fail(path, fmt::format("it does not match this model: {} has shape {} in the checkpoint but {} in the model",
                               name, fmt::join(tensor.sizes(), "x"), fmt::join(expected, "x")));
      }
    };
    for (const auto& item : model.named_parameters()) check(item.key(), item.value());
    for (const auto& item : model.named_buffers()) check(item.key(), item.value());
    for (std::size_t i = 0; i < optimizers.size(); ++i) {
      torch::serialize::InputArchive optimizer_archive;
      if (!archive.try_read(optimizer_key(i), optimizer_archive)) {
        fail(path, fmt::format("it holds no state for optimizer {} of {} (written by a model "
                               "with fewer optimizers?)", i + 1, optimizers.size()));
      }
      optimizers[i]->load(optimizer_archive);
    }
    if (extra != nullptr) {
      torch::serialize::InputArchive extra_archive;
      if (archive.try_read("extra", extra_archive)) {
        for (auto& [key, tensor] : *extra) extra_archive.try_read(key, tensor);
      }
    }
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    fail(path, fmt::format("it does not match this model: {}", first_line(e.what())));
  }
  return meta;
}

}  // namespace bolt
