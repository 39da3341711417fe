#include "Symbolizer.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace bolt::diagnosis {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                                        &std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : std::string(name);
}

}  // namespace

// A file mapped read-only (the header declares it for ModuleCache).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(Elf64_Ehdr))) {
      void* data = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (data != MAP_FAILED) {
        data_ = static_cast<const unsigned char*>(data);
        size_ = static_cast<std::size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  // A pointer to `count` objects of T at `offset`, or null when they do not fit in the file.
  template <class T>
  const T* at(uint64_t offset, uint64_t count = 1) const {
    if (!data_ || offset > size_ || count > (size_ - offset) / sizeof(T)) return nullptr;
    return reinterpret_cast<const T*>(data_ + offset);
  }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

namespace {

// The address the symbols of `elf` use for an offset from its load address: shared objects
// and PIE executables start at 0, fixed-address executables at their first segment.
uint64_t symbol_address(const MappedFile& file, const Elf64_Ehdr& header, uint64_t offset) {
  if (header.e_type != ET_EXEC) return offset;
  const auto* segments = file.at<Elf64_Phdr>(header.e_phoff, header.e_phnum);
  if (!segments) return offset;
  for (int i = 0; i < header.e_phnum; ++i) {
    if (segments[i].p_type == PT_LOAD) return segments[i].p_vaddr + offset;
  }
  return offset;
}

// The name at `offset` in an already mapped ELF file.
std::string function_in(const MappedFile& file, uint64_t offset) {
  const auto* header = file.at<Elf64_Ehdr>(0);
  if (!header || std::memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 || header->e_ident[EI_CLASS] != ELFCLASS64) {
    return {};
  }
  const auto* sections = file.at<Elf64_Shdr>(header->e_shoff, header->e_shnum);
  if (!sections) return {};
  const uint64_t address = symbol_address(file, *header, offset);
  // The full symbol table where the file has one (not stripped), else the exported symbols.
  for (const Elf64_Word wanted : {Elf64_Word{SHT_SYMTAB}, Elf64_Word{SHT_DYNSYM}}) {
    for (int i = 0; i < header->e_shnum; ++i) {
      const auto& table = sections[i];
      if (table.sh_type != wanted || table.sh_entsize != sizeof(Elf64_Sym) ||
          table.sh_link >= static_cast<Elf64_Word>(header->e_shnum)) {
        continue;
      }
      const auto count = table.sh_size / sizeof(Elf64_Sym);
      const auto* symbols = file.at<Elf64_Sym>(table.sh_offset, count);
      const auto& names = sections[table.sh_link];
      const auto* strings = file.at<char>(names.sh_offset, names.sh_size);
      if (!symbols || !strings) continue;
      for (uint64_t s = 0; s < count; ++s) {
        const auto& sym = symbols[s];
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value == 0) continue;
        if (address < sym.st_value || address >= sym.st_value + std::max<uint64_t>(sym.st_size, 1)) continue;
        if (sym.st_name >= names.sh_size) continue;
        const char* name = strings + sym.st_name;
        if (::memchr(name, '\0', names.sh_size - sym.st_name) == nullptr) continue;
        return demangle(name);
      }
    }
  }
  return {};
}

}  // namespace

// Each module mapped once per stack, not once per frame (libtorch's symbol table is large).
ModuleCache::ModuleCache() = default;
ModuleCache::~ModuleCache() = default;
const MappedFile& ModuleCache::get(const std::string& module) {
  auto& slot = files_[module];
  if (!slot) slot = std::make_unique<MappedFile>(module);
  return *slot;
}

std::string function_at(const std::string& module, uint64_t offset) { return function_in(MappedFile(module), offset); }

std::vector<std::string> symbolize_frames(void* const* frames, int count) {
  ModuleCache cache;
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    Dl_info info{};
    // A return address points after the call: look one byte back, inside the caller.
    const auto address = reinterpret_cast<uintptr_t>(frames[i]) - (i > 0 ? 1 : 0);
    if (::dladdr(reinterpret_cast<void*>(address), &info) == 0 || info.dli_fname == nullptr) {
      lines.push_back(std::to_string(address));
      continue;
    }
    std::string name = function_in(cache.get(info.dli_fname), address - reinterpret_cast<uintptr_t>(info.dli_fbase));
    if (name.empty() && info.dli_sname) name = demangle(info.dli_sname);
    lines.push_back((name.empty() ? "??" : name) + " (" + info.dli_fname + ")");
  }
  return lines;
}

std::string symbolize_backtrace_line(const std::string& line) {
  ModuleCache cache;
  return symbolize_backtrace_line(line, cache);
}

std::string symbolize_backtrace_line(const std::string& line, ModuleCache& cache) {
  const auto open = line.find('(');
  const auto close = line.find(')', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return line;
  const std::string module = line.substr(0, open);
  const std::string inside = line.substr(open + 1, close - open - 1);
  const auto plus = inside.rfind('+');
  if (plus == std::string::npos) return line;
  if (plus > 0) return demangle(inside.substr(0, plus).c_str()) + " (" + module + ")";
  const uint64_t offset = std::strtoull(inside.c_str() + plus + 1, nullptr, 16);
  // A return address: the call is the byte before it; the crashing frame's own address is
  // exact (and may be a function's first byte).
  const auto& file = cache.get(module);
  std::string name = function_in(file, offset > 0 ? offset - 1 : 0);
  if (name.empty()) name = function_in(file, offset);
  return name.empty() ? line : name + " (" + module + ")";
}

}  // namespace bolt::diagnosis
