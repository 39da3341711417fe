#include "ErrorText.h"

#include <c10/util/Exception.h>

namespace bolt {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string library_message(const std::exception& e) {
  const auto* c10 = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10 ? c10->what_without_backtrace() : e.what();
  if (text.rfind("The following operation failed in the TorchScript interpreter", 0) != 0) return first_line(text);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.substr(text.find_last_of('\n') + 1);
}

}  // namespace bolt
