#pragma once
// The part of a library's error text a Bolt message quotes: one line, the cause.
#include <exception>
#include <string>

namespace bolt {

// The text up to its first newline.
std::string first_line(const std::string& text);
// What went wrong, in one line: c10::Error without its backtrace; for an error inside the
// TorchScript interpreter (which prints the script's traceback first) the cause on its last line.
std::string library_message(const std::exception& e);

}  // namespace bolt
