// compare_checkpoints PLUGIN MODEL A.pt B.pt REL_TOL [--model.key value ...]: loads both
// checkpoints into the plugin's model (PLUGIN "-": a built-in model) and prints the largest
// relative parameter difference; exit 1 above REL_TOL.
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "bolt/Plugin.h"
#include "checkpoint/Checkpoint.h"
#include "config/WorkerCommandLine.h"
#include "plugin/PluginLoader.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: compare_checkpoints PLUGIN MODEL A.pt B.pt REL_TOL [--model.key value ...]\n";
    return 2;
  }
  try {
    bolt::PluginLoader loader;
    const std::string plugin = argv[1];
    if (plugin != "-") loader.load(plugin);
    // Any data module will do: only the model's keys matter here.
    const auto data = bolt::Registry::instance().data_names();
    std::vector<std::string> args{"fit", "--model", argv[2], "--data", data.back()};
    if (plugin != "-") args.insert(args.end(), {"--plugin", plugin});
    args.insert(args.end(), argv + 6, argv + argc);
    auto invocation = bolt::parse_worker_command_line(args, loader);
    const auto& entry = bolt::Registry::instance().model(argv[2]);
    auto a = entry.create(bolt::Config("model", invocation.config["model"]));
    auto b = entry.create(bolt::Config("model", invocation.config["model"]));
    bolt::load_checkpoint(argv[3], *a, {});
    bolt::load_checkpoint(argv[4], *b, {});
    double worst = 0;
    std::string worst_name;
    for (const auto& item : a->named_parameters()) {
      const auto& other = b->named_parameters()[item.key()];
      // NaN compares unequal to everything, so it would hide any difference: refuse it.
      if (!item.value().isfinite().all().item<bool>() || !other.isfinite().all().item<bool>()) {
        std::cout << fmt::format("{} is not finite in one of the checkpoints\n", item.key());
        return 1;
      }
      const double diff = (item.value() - other).abs().max().item<double>();
      const double scale = std::max(1e-12, item.value().abs().max().item<double>());
      if (diff / scale > worst) {
        worst = diff / scale;
        worst_name = item.key();
      }
    }
    std::cout << fmt::format("max relative difference {:.3e} ({})\n", worst, worst_name);
    return worst <= std::atof(argv[5]) ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "compare_checkpoints: " << e.what() << "\n";
    return 2;
  }
}
