#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "bolt/Config.h"
#include "bolt/Error.h"
#include "config/WorkerCommandLine.h"
#include "plugin/PluginLoader.h"
#include "test_support.h"

using bolt::ConfigError;
using nlohmann::json;

TEST_CASE("option values are coerced to their declared type and checked", "[config]") {
  bolt::OptionSet options("trainer");
  options.add_int("max_epochs", 5, "", 1).add_float("lr", 0.1, "", 0.0).add_bool("verbose", false, "")
      .add_string("mode", "a", "", {"a", "b"}).add_string_list("keys", {"loss"}, "");
  auto coerce = [&](const std::string& key, const json& value) {
    return bolt::coerce_option_value("trainer", *options.find(key), value);
  };
  CHECK(coerce("max_epochs", "7") == 7);
  CHECK(coerce("max_epochs", 3) == 3);
  CHECK(coerce("lr", "0.5") == 0.5);
  CHECK(coerce("lr", 2) == 2.0);
  CHECK(coerce("verbose", "true") == true);
  CHECK(coerce("verbose", false) == false);
  CHECK(coerce("mode", "b") == "b");
  CHECK(coerce("keys", json::array({"loss", "score"})) == json::array({"loss", "score"}));
  CHECK_THROWS_WITH(coerce("max_epochs", "-1"), Catch::Contains("trainer.max_epochs: must be at least 1"));
  CHECK_THROWS_WITH(coerce("max_epochs", "abc"), Catch::Contains("trainer.max_epochs: expected integer, got 'abc'"));
  CHECK_THROWS_WITH(coerce("max_epochs", 1.5), Catch::Contains("expected integer"));
  CHECK_THROWS_WITH(coerce("verbose", "maybe"), Catch::Contains("expected boolean"));
  CHECK_THROWS_WITH(coerce("mode", "c"), Catch::Contains("'c' is not one of a, b"));
  CHECK_THROWS_WITH(coerce("lr", "nan"), Catch::Contains("expected number"));
  CHECK_THROWS_AS(options.add_int("max_epochs", 1, ""), bolt::PluginError);
}

TEST_CASE("config files: invalid JSON names line and column, unknown sections are listed", "[config]") {
  TempDir dir;
  const auto bad = dir.write("bad.json", "{\n  \"trainer\": {\n    \"max_epochs\": 3,\n  }\n}\n");
  CHECK_THROWS_WITH(bolt::read_config_file(bad), Catch::Contains("is not valid JSON") && Catch::Contains("line 4, column 3"));
  const auto unknown = dir.write("unknown.json", R"({"trainr": {}})");
  CHECK_THROWS_WITH(bolt::read_config_file(unknown),
                    Catch::Contains("unknown section \"trainr\"; valid: plugins, submit, trainer, data, model, loggers"));
  CHECK_THROWS_WITH(bolt::read_config_file(dir.path / "missing.json"), Catch::Contains("does not exist"));
  const auto not_object = dir.write("list.json", "[1, 2]");
  CHECK_THROWS_AS(bolt::read_config_file(not_object), ConfigError);
}

TEST_CASE("merging: declared defaults < JSON file < command line", "[config]") {
  TempDir dir;
  const auto file = dir.write("run.json", R"({
    "plugins": [")" + std::string(TESTKIT_PLUGIN) + R"("],
    "trainer": {"max_epochs": 4, "seed": 9},
    "data": {"name": "synthetic", "batch_size": 16, "train_size": 100},
    "model": {"name": "mlp", "lr": 0.5},
    "loggers": {"tracker_keys": ["loss"]}
  })");
  bolt::PluginLoader loader;
  auto inv = bolt::parse_worker_command_line(
      {"fit", "--config", file, "--trainer.max_epochs", "2", "--data.batch_size=8", "--model.hidden", "7"}, loader);
  CHECK(inv.stage == "fit");
  CHECK(inv.config["trainer"]["max_epochs"] == 2);       // command line beats file
  CHECK(inv.config["trainer"]["seed"] == 9);             // file beats default
  CHECK(inv.config["trainer"]["verbose"] == false);      // default
  CHECK(inv.config["data"]["batch_size"] == 8);
  CHECK(inv.config["data"]["train_size"] == 100);        // plugin's own key, from the file
  CHECK(inv.config["model"]["hidden"] == 7);             // plugin's own key, from the command line
  CHECK(inv.config["model"]["lr"] == 0.5);
  CHECK(inv.config["model"]["name"] == "mlp");
  CHECK(inv.config["loggers"]["tracker_keys"] == json::array({"loss"}));

  CHECK_THROWS_WITH(bolt::parse_worker_command_line({"fit", "--config", file, "--trainer.max_epoch", "2"}, loader),
                    Catch::Contains("unknown option --trainer.max_epoch; valid trainer keys:") &&
                        Catch::Contains("max_epochs"));
  const auto typo = dir.write("typo.json", R"({"data": {"batch_sise": 3}, "plugins": [")" + std::string(TESTKIT_PLUGIN) + R"("]})");
  CHECK_THROWS_WITH(bolt::parse_worker_command_line({"fit", "--config", typo}, loader),
                    Catch::Contains("unknown config key data.batch_sise; valid data keys:") &&
                        Catch::Contains("batch_size"));
  CHECK_THROWS_WITH(bolt::parse_worker_command_line({"fit", "--config", file, "--data.batch_size", "0"}, loader),
                    Catch::Contains("data.batch_size: must be at least 1"));
  CHECK_THROWS_WITH(bolt::parse_worker_command_line({"fit", "--config", file, "--trainer.max_epochs", "-1"}, loader),
                    Catch::Contains("trainer.max_epochs: must be at least 1"));
  CHECK_THROWS_WITH(bolt::parse_worker_command_line({"fit", "--config", file, "--trainer.seed", "x"}, loader),
                    Catch::Contains("trainer.seed: expected integer, got 'x'"));
  CHECK_THROWS_WITH(bolt::parse_worker_command_line({"--config", file}, loader), Catch::Contains("no stage given"));
}

// Found by tests/fuzz (fuzz_config): each was a library exception or library text before.
TEST_CASE("merging refuses what the fuzzer found: an empty argument, bytes that are not UTF-8", "[config]") {
  std::map<std::string, bolt::OptionSet> sections;
  for (const auto& name : bolt::config_sections()) sections.emplace(name, bolt::OptionSet(name));
  sections.at("loggers").add_string("name", "run", "").add_string_list("tracker_keys", {}, "");
  const auto merge = [&](std::vector<std::string> args) {
    return bolt::merge_config(json::object(), "", sections, args);
  };
  CHECK(merge({"fit", "--loggers.name", "ok"}).config["loggers"]["name"] == "ok");
  CHECK_THROWS_WITH(merge({"fit", ""}), Catch::Contains("unexpected argument ''"));
  CHECK_THROWS_WITH(merge({"fit", "--"}), !Catch::Contains("basic_string"));
  CHECK_THROWS_WITH(merge({"fit", "--loggers.name", "a\xab"}), Catch::Contains("loggers.name: the value is not valid UTF-8 text"));
  CHECK_THROWS_WITH(merge({"fit", "--loggers.tracker_keys", "loss,\xc0\x80"}),
                    Catch::Contains("loggers.tracker_keys: an item of the list is not valid UTF-8 text"));
  CHECK(merge({"fit", "--loggers.name", "caf\xc3\xa9 \xf0\x9f\x9a\x80"}).config["loggers"]["name"] == "caf\xc3\xa9 \xf0\x9f\x9a\x80");
  CHECK_THROWS_WITH(bolt::parse_config_text(std::string(40, '[') + std::string(40, ']'), "deep.json"),
                    Catch::Contains("config file deep.json nests deeper than 16 levels"));
}
