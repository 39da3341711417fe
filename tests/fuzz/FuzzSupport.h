#pragma once
// What every harness asserts besides "no crash, no sanitizer report": bad input ends in a
// bolt::Error whose message is Bolt's own, never a library exception or library text.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "bolt/Error.h"

namespace bolt::fuzz {

// Text that means a library's message reached the user instead of Bolt's (unless the input
// itself holds it, and the message quotes the input).
inline const char* library_text_in(const std::string& message, const std::string& input) {
  for (const char* marker : {"[json.exception", "stoi", "stol", "stod", "basic_string", "bad_alloc",
                             "std::", "vector::", "out_of_range", "invalid_argument", "terminate called"}) {
    if (message.find(marker) != std::string::npos && input.find(marker) == std::string::npos) return marker;
  }
  return nullptr;
}

[[noreturn]] inline void defect(const char* what, const std::string& message) {
  std::fprintf(stderr, "FUZZ DEFECT: %s: %s\n", what, message.c_str());
  std::abort();
}

// Runs `body` over `input`; a bolt::Error is the expected end of bad input, anything else is a
// defect.
template <class Body>
void expect_only_bolt_errors(const std::string& input, Body&& body) {
  try {
    body();
  } catch (const bolt::Error& e) {
    if (std::strlen(e.what()) == 0) defect("bolt::Error with an empty message", "");
    if (const char* marker = library_text_in(e.what(), input)) defect("library text in a Bolt error", e.what());
  } catch (const std::exception& e) {
    defect("a library exception escaped", e.what());
  }
}

}  // namespace bolt::fuzz
