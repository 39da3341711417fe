#pragma once
// Function names for stack frames, including functions a shared object does not export (a
// plugin built with hidden visibility): the dynamic linker only knows exported names, so the
// ELF symbol table of the module's file is read as well. Torch-free: bolt-launch uses it to
// name the frames a crashed rank recorded as "module(+0xoffset)".
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace bolt::diagnosis {

// "function (module)" for each return address of this process, innermost first.
std::vector<std::string> symbolize_frames(void* const* frames, int count);

// The demangled name of the function at `offset` from the load address of the ELF file
// `module`; empty when the file has no symbol there.
std::string function_at(const std::string& module, uint64_t offset);

// A line of glibc's backtrace_symbols ("path(name+0x1a) [0x..]" or "path(+0x1234) [0x..]")
// as "function (path)" where a name is found; the line unchanged otherwise.
std::string symbolize_backtrace_line(const std::string& line);
// The same for the lines of one stack: each module's file is read once.
class MappedFile;
class ModuleCache {
 public:
  ModuleCache();
  ~ModuleCache();
  ModuleCache(const ModuleCache&) = delete;
  ModuleCache& operator=(const ModuleCache&) = delete;
  const MappedFile& get(const std::string& module);

 private:
  std::map<std::string, std::unique_ptr<MappedFile>> files_;
};
std::string symbolize_backtrace_line(const std::string& line, ModuleCache& cache);

}  // namespace bolt::diagnosis
