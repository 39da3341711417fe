#pragma once
// Formatting for a fatal-signal handler: only write(2), no allocation, no locale, no stdio.
#include <execinfo.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace bolt::diagnosis {

class SignalSafeWriter {
 public:
  explicit SignalSafeWriter(int fd) : fd_(fd) {}

  SignalSafeWriter& text(const char* s) {
    if (s) put(s, std::strlen(s));
    return *this;
  }
  SignalSafeWriter& number(int64_t value) {
    if (value < 0) {
      put("-", 1);
      return number(static_cast<uint64_t>(-(value + 1)) + 1);
    }
    return number(static_cast<uint64_t>(value));
  }
  SignalSafeWriter& number(uint64_t value) { return padded(value, 1); }
  SignalSafeWriter& number(int value) { return number(static_cast<int64_t>(value)); }
  SignalSafeWriter& number(long long value) { return number(static_cast<int64_t>(value)); }
  SignalSafeWriter& number(unsigned long long value) { return number(static_cast<uint64_t>(value)); }
  // At least `width` digits, zero-padded.
  SignalSafeWriter& padded(uint64_t value, int width) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0 && n < 24);
    while (n < width && n < 24) digits[n++] = '0';
    char out[24];
    for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
    put(out, static_cast<std::size_t>(n));
    return *this;
  }
  // A JSON string: quotes, backslashes and control characters escaped.
  SignalSafeWriter& quoted(const char* s) {
    put("\"", 1);
    for (; s && *s; ++s) {
      const unsigned char c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') {
        const char escaped[2] = {'\\', static_cast<char>(c)};
        put(escaped, 2);
      } else if (c < 0x20) {
        put(" ", 1);
      } else {
        put(s, 1);
      }
    }
    put("\"", 1);
    return *this;
  }
  // One JSON string per frame, as glibc's backtrace_symbols_fd names it ("module(+0xoff)"),
  // read back through a pipe so that each line can be escaped.
  SignalSafeWriter& backtrace_lines(void* const* frames, int depth) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) return *this;
    ::backtrace_symbols_fd(frames, depth, pipe_fds[1]);
    ::close(pipe_fds[1]);
    char line[1024];
    std::size_t used = 0;
    bool first = true;
    char c;
    while (::read(pipe_fds[0], &c, 1) == 1) {
      if (c != '\n') {
        if (used + 1 < sizeof line) line[used++] = c;
        continue;
      }
      line[used] = '\0';
      text(first ? "\n  " : ",\n  ").quoted(line);
      first = false;
      used = 0;
    }
    ::close(pipe_fds[0]);
    return *this;
  }

 private:
  void put(const char* data, std::size_t size) {
    while (size > 0) {
      const ssize_t n = ::write(fd_, data, size);
      if (n <= 0) return;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }
  int fd_;
};

}  // namespace bolt::diagnosis
