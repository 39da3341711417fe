#pragma once
// Renders spdlog messages with a Python `logging` format string (`%(asctime)s | ...`) and
// strftime datefmt, so a Bolt log reads exactly like the Python PyTorch Bolt's.
#include <memory>
#include <string>
#include <vector>

#include <spdlog/formatter.h>

namespace bolt {

class PythonLogFormatter : public spdlog::formatter {
 public:
  PythonLogFormatter(const std::string& format, std::string datefmt);
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

  struct Field {
    enum Kind { Literal, AscTime, LevelName, Name, Message, Process, Thread, Created } kind;
    std::string literal;
    int width = 0;  // negative: left-aligned
  };

 private:
  std::string format_;
  std::string datefmt_;
  std::vector<Field> fields_;
};

}  // namespace bolt
