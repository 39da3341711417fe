#pragma once
// Tensors saved from Python: a torch.save'd dict of tensors (.pt/.pth), a NumPy .npz archive
// (np.savez / np.savez_compressed) or a single .npy array. Errors name the file.
#include <filesystem>
#include <map>
#include <string>

#include <ATen/ATen.h>

namespace bolt::builtin {

// Every named tensor of a .pt/.pth dict or an .npz archive.
std::map<std::string, at::Tensor> read_tensor_dict(const std::filesystem::path& file);
// One .npy array.
at::Tensor read_npy_file(const std::filesystem::path& file);
// An .npy array held in memory; `what` names it in errors.
at::Tensor parse_npy(const std::string& bytes, const std::string& what);

}  // namespace bolt::builtin
