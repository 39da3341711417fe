#include "bolt/Config.h"

#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bolt/Error.h"
#include "bolt/StrictNumber.h"

namespace bolt {

const char* to_string(OptionType type) {
  switch (type) {
    case OptionType::Int: return "integer";
    case OptionType::Float: return "number";
    case OptionType::Bool: return "boolean";
    case OptionType::String: return "string";
    case OptionType::StringList: return "comma-separated list";
  }
  return "?";
}

OptionSet::OptionSet(std::string section) : section_(std::move(section)) {}

OptionSpec& OptionSet::add(OptionSpec spec) {
  if (find(spec.name) != nullptr) {
    throw PluginError(fmt::format("option {}.{} is declared twice", section_, spec.name));
  }
  specs_.push_back(std::move(spec));
  return specs_.back();
}

OptionSet& OptionSet::add_int(const std::string& name, int64_t default_value,
                              const std::string& help, std::optional<int64_t> min) {
  OptionSpec spec{name, OptionType::Int, default_value, help, std::nullopt, {}};
  if (min) spec.min = static_cast<double>(*min);
  add(std::move(spec));
  return *this;
}

OptionSet& OptionSet::add_float(const std::string& name, double default_value,
                                const std::string& help, std::optional<double> min) {
  add({name, OptionType::Float, default_value, help, min, {}});
  return *this;
}

OptionSet& OptionSet::add_bool(const std::string& name, bool default_value,
                               const std::string& help) {
  add({name, OptionType::Bool, default_value, help, std::nullopt, {}});
  return *this;
}

OptionSet& OptionSet::add_string(const std::string& name, const std::string& default_value,
                                 const std::string& help, std::vector<std::string> choices) {
  add({name, OptionType::String, default_value, help, std::nullopt, std::move(choices)});
  return *this;
}

OptionSet& OptionSet::add_string_list(const std::string& name,
                                      std::vector<std::string> default_value,
                                      const std::string& help) {
  add({name, OptionType::StringList, default_value, help, std::nullopt, {}});
  return *this;
}

const OptionSpec* OptionSet::find(const std::string& name) const {
  for (const auto& spec : specs_) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::vector<std::string> OptionSet::names() const {
  std::vector<std::string> out;
  for (const auto& spec : specs_) out.push_back(spec.name);
  return out;
}

nlohmann::json OptionSet::defaults() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& spec : specs_) out[spec.name] = spec.default_value;
  return out;
}

namespace {

std::string describe(const nlohmann::json& value) {
  const auto text = value.is_string() ? "'" + value.get<std::string>() + "'" : value.dump();
  return text.size() > 80 ? text.substr(0, 77) + "..." : text;
}

// What nlohmann's dump() accepts: well-formed UTF-8 (no overlong forms, no surrogates).
bool is_valid_utf8(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int length = 0;
    uint32_t code = 0;
    if (byte < 0x80) { ++i; continue; }
    if ((byte & 0xE0) == 0xC0) { length = 2; code = byte & 0x1F; }
    else if ((byte & 0xF0) == 0xE0) { length = 3; code = byte & 0x0F; }
    else if ((byte & 0xF8) == 0xF0) { length = 4; code = byte & 0x07; }
    else return false;
    if (i + length > text.size()) return false;
    for (int k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

[[noreturn]] void wrong_type(const std::string& key, const OptionSpec& spec,
                             const nlohmann::json& value) {
  throw ConfigError(
      fmt::format("{}: expected {}, got {}", key, to_string(spec.type), describe(value)));
}

std::optional<int64_t> parse_int(const std::string& text) { return parse_integer(text); }

std::optional<double> parse_float(const std::string& text) {
  std::size_t used = 0;
  try {
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

nlohmann::json coerce_option_value(const std::string& section, const OptionSpec& spec,
                                   const nlohmann::json& value) {
  const std::string key = section + "." + spec.name;
  // A command-line value reaches here as raw bytes; JSON (config.json, --print-config) holds text.
  if (value.is_string() && !is_valid_utf8(value.get_ref<const std::string&>())) {
    throw ConfigError(fmt::format("{}: the value is not valid UTF-8 text", key));
  }
  if (value.is_array()) {
    for (const auto& item : value) {
      if (item.is_string() && !is_valid_utf8(item.get_ref<const std::string&>())) {
        throw ConfigError(fmt::format("{}: an item of the list is not valid UTF-8 text", key));
      }
    }
  }
  nlohmann::json out;
  switch (spec.type) {
    case OptionType::Int:
      if (value.is_number_integer()) {
        out = value.get<int64_t>();
      } else if (value.is_string()) {
        auto v = parse_int(value.get<std::string>());
        if (!v) wrong_type(key, spec, value);
        out = *v;
      } else {
        wrong_type(key, spec, value);
      }
      break;
    case OptionType::Float:
      if (value.is_number()) {
        out = value.get<double>();
      } else if (value.is_string()) {
        auto v = parse_float(value.get<std::string>());
        if (!v) wrong_type(key, spec, value);
        out = *v;
      } else {
        wrong_type(key, spec, value);
      }
      break;
    case OptionType::Bool:
      if (value.is_boolean()) {
        out = value.get<bool>();
      } else if (value.is_string()) {
        const auto text = value.get<std::string>();
        if (text == "true" || text == "1" || text == "on" || text == "yes") {
          out = true;
        } else if (text == "false" || text == "0" || text == "off" || text == "no") {
          out = false;
        } else {
          wrong_type(key, spec, value);
        }
      } else {
        wrong_type(key, spec, value);
      }
      break;
    case OptionType::String:
      if (!value.is_string()) wrong_type(key, spec, value);
      out = value;
      break;
    case OptionType::StringList:
      if (value.is_string()) {
        out = nlohmann::json::array({value});
      } else if (value.is_array()) {
        for (const auto& item : value) {
          if (!item.is_string()) wrong_type(key, spec, value);
        }
        out = value;
      } else {
        wrong_type(key, spec, value);
      }
      break;
  }
  if (spec.min && out.is_number() && out.get<double>() < *spec.min) {
    throw ConfigError(fmt::format("{}: must be at least {}, got {}", key, *spec.min, out.dump()));
  }
  if (!spec.choices.empty() && out.is_string()) {
    const auto text = out.get<std::string>();
    if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
      throw ConfigError(fmt::format("{}: '{}' is not one of {}", key, text,
                                    fmt::join(spec.choices, ", ")));
    }
  }
  return out;
}

Config::Config(std::string section, nlohmann::json values)
    : section_(std::move(section)), values_(std::move(values)) {}

const nlohmann::json& Config::at(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    throw ConfigError(fmt::format("{}.{} is not a declared option", section_, key));
  }
  return *it;
}

int64_t Config::get_int(const std::string& key) const { return at(key).get<int64_t>(); }
double Config::get_float(const std::string& key) const { return at(key).get<double>(); }
bool Config::get_bool(const std::string& key) const { return at(key).get<bool>(); }
std::string Config::get_string(const std::string& key) const {
  return at(key).get<std::string>();
}
std::vector<std::string> Config::get_string_list(const std::string& key) const {
  return at(key).get<std::vector<std::string>>();
}
bool Config::contains(const std::string& key) const { return values_.contains(key); }

}  // namespace bolt
