#include <catch2/catch.hpp>

#include <regex>

#include "bolt/Error.h"
#include "logging/PythonLogFormatter.h"

namespace {
std::string render(const std::string& fmt, const std::string& datefmt, spdlog::level::level_enum level,
                   const std::string& message) {
  bolt::PythonLogFormatter formatter(fmt, datefmt);
  spdlog::details::log_msg msg("bolt.trainer", level, message);
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  return std::string(out.data(), out.size());
}
}  // namespace

TEST_CASE("log lines render Python logging formats", "[logging]") {
  const std::string seed_format = "%(asctime)s | %(levelname)-5s | %(name)s - %(message)s";
  const auto line = render(seed_format, "", spdlog::level::info, "hello");
  CHECK(std::regex_match(line, std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| INFO  \| bolt\.trainer - hello\n)")));
  CHECK(render(seed_format, "%H", spdlog::level::warn, "x").find(" | WARNING | ") != std::string::npos);
  CHECK(std::regex_match(render("%(levelname)8s:%(message)s", "", spdlog::level::err, "m"),
                         std::regex(R"(   ERROR:m\n)")));
  CHECK_THROWS_AS(bolt::PythonLogFormatter("%(funcName)s", ""), bolt::ConfigError);
}

#include "bolt/EventWriter.h"

TEST_CASE("CRC-32C of TensorBoard records matches the standard check value", "[logging]") {
  const std::string check = "123456789";
  CHECK(bolt::crc32c(check.data(), check.size()) == 0xE3069283u);
  const uint32_t crc = 0xE3069283u;
  CHECK(bolt::masked_crc32c(check.data(), check.size()) == ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}
