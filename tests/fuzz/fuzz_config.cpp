// The worker's config: a JSON file merged with dotted command-line overrides over declared
// options. Input: the JSON text, then NUL-separated command-line arguments. Every declared key
// must come out with a value of its type within its bounds, or Bolt's error must name why.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "FuzzSupport.h"
#include "config/ConfigFile.h"
#include "config/ConfigMerge.h"

namespace {

std::map<std::string, bolt::OptionSet> declared_sections() {
  std::map<std::string, bolt::OptionSet> sections;
  for (const auto& name : bolt::config_sections()) sections.emplace(name, bolt::OptionSet(name));
  sections.at("trainer")
      .add_int("max_epochs", 3, "epochs", 1)
      .add_float("gradient_clip_val", 0.0, "clip", 0.0)
      .add_bool("deterministic", false, "flag")
      .add_string("precision", "32", "precision", {"32", "bf16-mixed", "16-mixed"})
      .add_string("name", "default", "trainer");
  sections.at("data").add_int("batch_size", 32, "batch", 1).add_string_list("train", {}, "files");
  sections.at("model").add_float("lr", 0.01, "rate", 0.0).add_string("name", "", "model");
  sections.at("loggers").add_string("name", "run", "name").add_string_list("tracker_keys", {"loss"}, "keys");
  return sections;
}

void check_merged(const nlohmann::json& config, const std::map<std::string, bolt::OptionSet>& sections) {
  for (const auto& [name, options] : sections) {
    for (const auto& spec : options.specs()) {
      const auto& value = config.at(name).at(spec.name);
      bool fits = false;
      switch (spec.type) {
        case bolt::OptionType::Int: fits = value.is_number_integer() && value.get<int64_t>() >= *spec.min; break;
        case bolt::OptionType::Float:
          fits = value.is_number() && std::isfinite(value.get<double>()) && value.get<double>() >= spec.min.value_or(-INFINITY);
          break;
        case bolt::OptionType::Bool: fits = value.is_boolean(); break;
        case bolt::OptionType::String: fits = value.is_string(); break;
        case bolt::OptionType::StringList: fits = value.is_array(); break;
      }
      if (!fits) bolt::fuzz::defect("a merged value outside its declared type or bounds", name + "." + spec.name + " = " + value.dump());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  const std::string json_text = input.substr(0, nul);
  std::vector<std::string> args;
  if (nul != std::string::npos) {
    std::size_t start = nul + 1;
    while (start <= input.size() && args.size() < 64) {
      auto end = input.find('\0', start);
      if (end == std::string::npos) end = input.size();
      args.push_back(input.substr(start, end - start));
      start = end + 1;
    }
  }
  static const auto sections = declared_sections();
  bolt::fuzz::expect_only_bolt_errors(input, [&] {
    const bool has_file = !json_text.empty();
    const auto document = has_file ? bolt::parse_config_text(json_text, "fuzz.json") : nlohmann::json::object();
    const auto merged = bolt::merge_config(document, has_file ? "fuzz.json" : "", sections, args);
    if (!merged.help && !merged.stage.empty()) check_merged(merged.config, sections);
    (void)merged.config.dump();  // what --print-config does with it
  });
  return 0;
}
