#include "SbatchScript.h"

#include <fmt/format.h>

#include "bolt/Error.h"

namespace bolt::launch {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string directive_value(const std::string& what, const std::string& value) {
  bool plain = !value.empty();
  for (const char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"') {
      throw UsageError(fmt::format("{} '{}' cannot go on an #SBATCH line (a control character or a double "
                                   "quote): choose another", what, value));
    }
    if (c == ' ' || c == '#' || c == '\'' || c == '\\') plain = false;
  }
  return plain ? value : "\"" + value + "\"";
}

std::string sbatch_script(const ScriptSpec& spec) {
  const auto& r = spec.resources;
  const bool task_per_node = r.nproc_per_node || (r.gpus_per_node && !r.ntasks_per_node);
  const int ranks_per_node = task_per_node ? r.nproc_per_node.value_or(r.gpus_per_node.value_or(1))
                                           : r.ntasks_per_node.value_or(1);
  std::string s = "#!/bin/bash\n";
  s += fmt::format("# Written by bolt-launch submit: {} node(s) x {} rank(s), {}.\n", r.nodes, ranks_per_node,
                   task_per_node ? "one task per node, bolt-launch starts the node's ranks (--nproc-per-node)"
                                 : "one task per rank (bolt-launch execs bolt-worker)");
  s += "# The worker's options are in the JSON config(s) beside this script: a copy, so editing the\n"
       "# original after submitting changes nothing.\n";
  auto directive = [&](const std::string& option, const std::string& value = {}) {
    s += value.empty() ? fmt::format("#SBATCH --{}\n", option)
                       : fmt::format("#SBATCH --{}={}\n", option, directive_value("--" + option, value));
  };
  directive("job-name", spec.job_name);
  directive("nodes", std::to_string(r.nodes));
  directive("ntasks-per-node", std::to_string(task_per_node ? 1 : ranks_per_node));
  if (r.gpus_per_node) directive("gpus-per-node", std::to_string(*r.gpus_per_node));
  if (r.cpus_per_task) directive("cpus-per-task", std::to_string(*r.cpus_per_task));
  for (const auto& [option, value] : {std::pair{"mem", &r.mem}, {"time", &r.time}, {"partition", &r.partition},
                                      {"account", &r.account}, {"qos", &r.qos}, {"constraint", &r.constraint}}) {
    if (!value->empty()) directive(option, *value);
  }
  if (r.exclusive) directive("exclusive");
  if (spec.array_slice) {
    const auto count = spec.array_slice->second;
    directive("array", fmt::format("0-{}{}", count - 1, r.max_parallel ? fmt::format("%{}", *r.max_parallel) : ""));
  }
  directive("output", spec.submit_dir + (spec.array_slice ? "/slurm-%A_%a.out" : "/slurm-%j.out"));
  directive("open-mode", "append");
  directive("chdir", spec.workdir);
  s += fmt::format("# The ranks get SIGUSR1 {} s before the time limit (and on preemption): they checkpoint\n"
                   "# at the same step and rank 0 requeues the job, which resumes from last.pt.\n", r.signal_lead_s);
  directive("signal", fmt::format("USR1@{}", r.signal_lead_s));
  directive(r.requeue ? "requeue" : "no-requeue");
  for (const auto& arg : r.sbatch_args) {
    // "--opt=value": the value is written as any other (quoted when it has spaces); sbatch
    // reads #SBATCH lines itself, so nothing in them reaches a shell.
    const auto equals = arg.find('=');
    s += equals == std::string::npos
             ? fmt::format("#SBATCH {}\n", directive_value("--sbatch-arg", arg))
             : fmt::format("#SBATCH {}={}\n", directive_value("--sbatch-arg", arg.substr(0, equals)),
                           directive_value("--sbatch-arg", arg.substr(equals + 1)));
  }
  s += "set -euo pipefail\n";
  s += fmt::format("export BOLT_SIGNAL_LEAD_S={}\n", r.signal_lead_s);
  std::string config = shell_quote(spec.submit_dir + "/config.json");
  if (spec.array_slice) {
    s += fmt::format("point=$((SLURM_ARRAY_TASK_ID + {}))\n", spec.array_slice->first);
    config = shell_quote(spec.submit_dir + "/points/") + "\"$point\"" + shell_quote(".json");
  }
  // --kill-on-bad-exit=1: one failing rank ends the step at once instead of leaving the
  // others to wait in a collective until the timeout.
  // On failure the job output ends with the diagnosis from the ranks' records (bolt-launch
  // why); 75 is a planned stop for requeue.
  s += fmt::format("srun --kill-on-bad-exit=1 {}{} -- {} --config {} || {{\n", shell_quote(spec.launcher),
                   task_per_node ? fmt::format(" --nproc-per-node {}", ranks_per_node) : "",
                   shell_quote(spec.stage), config);
  s += "  status=$?\n";
  s += fmt::format("  [[ $status -eq 75 ]] || {} why -- {} --config {} || true\n", shell_quote(spec.launcher),
                   shell_quote(spec.stage), config);
  s += "  exit $status\n}\n";
  return s;
}

}  // namespace bolt::launch
