#include "PythonLogFormatter.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <regex>

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt {

namespace {

const char* python_level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "TRACE";
    case spdlog::level::debug: return "DEBUG";
    case spdlog::level::info: return "INFO";
    case spdlog::level::warn: return "WARNING";
    case spdlog::level::err: return "ERROR";
    case spdlog::level::critical: return "CRITICAL";
    default: return "NOTSET";
  }
}

void append_padded(spdlog::memory_buf_t& dest, const std::string& text, int width) {
  const auto pad = static_cast<std::size_t>(std::abs(width));
  const std::string fill = text.size() < pad ? std::string(pad - text.size(), ' ') : "";
  if (width > 0) dest.append(fill.data(), fill.data() + fill.size());
  dest.append(text.data(), text.data() + text.size());
  if (width < 0) dest.append(fill.data(), fill.data() + fill.size());
}

}  // namespace

PythonLogFormatter::PythonLogFormatter(const std::string& format, std::string datefmt)
    : format_(format), datefmt_(std::move(datefmt)) {
  static const std::regex field(R"(%\((\w+)\)(-?\d*)([sdf]))");
  std::size_t last = 0;
  for (auto it = std::sregex_iterator(format.begin(), format.end(), field);
       it != std::sregex_iterator(); ++it) {
    const auto& match = *it;
    if (static_cast<std::size_t>(match.position()) > last) {
      fields_.push_back({Field::Literal, format.substr(last, match.position() - last), 0});
    }
    const std::string name = match[1];
    // A field is padded to at most kMaxFieldWidth characters: a wider one is a typo, and a
    // huge one would allocate that much for every line.
    constexpr int kMaxFieldWidth = 1000;
    const auto digits = match[2].str();
    const auto magnitude = digits.empty() || digits == "-" ? std::string() : digits.substr(digits[0] == '-');
    if (magnitude.size() > 4 || (!magnitude.empty() && std::stoi(magnitude) > kMaxFieldWidth)) {
      throw ConfigError(fmt::format("loggers.loggerfmt: the width of %({}){}{} is more than {} characters",
                                    match[1].str(), digits, match[3].str(), kMaxFieldWidth));
    }
    Field f{Field::Literal, "", magnitude.empty() ? 0 : std::stoi(digits)};
    if (f.width != 0 && match[2].str()[0] != '-') f.width = std::abs(f.width);
    if (name == "asctime") f.kind = Field::AscTime;
    else if (name == "levelname") f.kind = Field::LevelName;
    else if (name == "name") f.kind = Field::Name;
    else if (name == "message") f.kind = Field::Message;
    else if (name == "process") f.kind = Field::Process;
    else if (name == "thread") f.kind = Field::Thread;
    else if (name == "created") f.kind = Field::Created;
    else throw ConfigError(fmt::format("loggers.loggerfmt: unsupported field %({})", name));
    fields_.push_back(f);
    last = static_cast<std::size_t>(match.position() + match.length());
  }
  if (last < format.size()) fields_.push_back({Field::Literal, format.substr(last), 0});
  // strftime writes nothing at all when the result does not fit its buffer (128 bytes): the
  // timestamp would vanish from every line. Checked once here with a sample time.
  char buffer[128];
  std::tm sample{};
  sample.tm_year = 2000 - 1900;
  sample.tm_mday = 28;
  sample.tm_mon = 11;
  sample.tm_hour = 23;
  sample.tm_wday = 3;
  if (!datefmt_.empty() && std::strftime(buffer, sizeof buffer, datefmt_.c_str(), &sample) == 0) {
    throw ConfigError(fmt::format("loggers.datefmt '{}' gives an empty or longer than {}-character timestamp: "
                                  "shorten it (e.g. %Y-%m-%d %H:%M:%S)", datefmt_.substr(0, 80), sizeof buffer - 1));
  }
}

void PythonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  for (const auto& f : fields_) {
    switch (f.kind) {
      case Field::Literal: dest.append(f.literal.data(), f.literal.data() + f.literal.size()); break;
      case Field::AscTime: {
        const auto time = std::chrono::system_clock::to_time_t(msg.time);
        std::tm local{};
        localtime_r(&time, &local);
        char buffer[128];
        if (datefmt_.empty()) {
          // Python's default: "2003-07-08 16:49:45,896".
          std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &local);
          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                              msg.time.time_since_epoch()).count() % 1000;
          append_padded(dest, fmt::format("{},{:03d}", buffer, ms), f.width);
        } else {
          std::strftime(buffer, sizeof buffer, datefmt_.c_str(), &local);
          append_padded(dest, buffer, f.width);
        }
        break;
      }
      case Field::LevelName: append_padded(dest, python_level_name(msg.level), f.width); break;
      case Field::Name:
        append_padded(dest, std::string(msg.logger_name.data(), msg.logger_name.size()), f.width);
        break;
      case Field::Message:
        append_padded(dest, std::string(msg.payload.data(), msg.payload.size()), f.width);
        break;
      case Field::Process: append_padded(dest, std::to_string(::getpid()), f.width); break;
      case Field::Thread: append_padded(dest, std::to_string(msg.thread_id), f.width); break;
      case Field::Created: {
        const double seconds = std::chrono::duration<double>(msg.time.time_since_epoch()).count();
        append_padded(dest, fmt::format("{:.6f}", seconds), f.width);
        break;
      }
    }
  }
  dest.push_back('\n');
}

std::unique_ptr<spdlog::formatter> PythonLogFormatter::clone() const {
  return std::make_unique<PythonLogFormatter>(format_, datefmt_);
}

}  // namespace bolt
