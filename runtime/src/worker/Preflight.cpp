// `bolt-launch --check ... -- <stage> --config ...`: on every rank, in seconds, what a job needs
// before it spends its allocation: the config and plugins load, the data directory is
// readable, the device exists, the master resolves and answers, all ranks agree on what the
// job is (world size, nodes, run id, config), and one tiny allreduce goes through the
// process group. Rank 0 prints one table (rank, host, each check) and every rank exits 0, or
// all exit 1 with the first failure named. Ranks that fail locally still post why to the
// rendezvous, so rank 0's table names them.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "../config/WorkerCommandLine.h"
#include "../dist/Communicator.h"
#include "../dist/StoreServer.h"
#include "../plugin/PluginLoader.h"
#include "../util/ErrorText.h"
#include "../util/HostName.h"
#include "Worker.h"
#include "bolt/Error.h"
#include "bolt/Plugin.h"
#include "bolt/Trainer.h"
#include "bolt/TrainerOptions.h"

namespace bolt {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
constexpr auto kCheckTimeout = std::chrono::seconds(8);  // every failure is named within 10 s
const char* const kColumns[] = {"config", "data", "device"};

struct LocalChecks {
  json row = json::object();  // check -> "ok ..." or "FAIL: ..."
  std::string failure;        // the first failed check, "<check>: <why>"
  bool usage_error = false;   // it was the command's or config's fault (exit 2)
  json config;
  c10::Device device{c10::kCPU};

  void run(const char* name, const std::function<std::string()>& check) {
    if (!failure.empty()) {
      row[name] = "-";
      return;
    }
    try {
      row[name] = check();
    } catch (const std::exception& e) {
      failure = fmt::format("{}: {}", name, first_line(e.what()));
      usage_error = dynamic_cast<const UsageError*>(&e) != nullptr;
      row[name] = "FAIL";
    }
  }
};

LocalChecks check_locally(const std::vector<std::string>& args, const WorkerEnvironment& env, PluginLoader& loader) {
  LocalChecks local;
  std::shared_ptr<DataModule> data;
  local.run("config", [&] {
    auto invocation = parse_worker_command_line(args, loader);
    if (invocation.stage.empty()) throw UsageError("--check needs the stage and config the job runs with");
    auto& config = invocation.config;
    data = Registry::instance().data(config["data"]["name"]).create(Config("data", config["data"]));
    link_data_to_model(config, *data);
    check_run_name(config["loggers"]);
    (void)TrainerOptions::from(Config("trainer", config["trainer"]));
    local.config = config;
    return fmt::format("ok ({} plugin(s))", config["plugins"].size());
  });
  local.run("data", [&] {
    const auto dir = local.config["data"].value("data_dir", std::string());
    if (dir.empty()) return std::string("ok (no data_dir)");
    // A data module that never reads data_dir (synthetic data) keeps the default: absent is fine then.
    OptionSet declared("data");
    DataModule::declare_base_options(declared);
    const auto* spec = declared.find("data_dir");
    if (spec && spec->default_value == dir && ::access(dir.c_str(), F_OK) != 0) return std::string("- (default, absent)");
    if (::access(dir.c_str(), R_OK | X_OK) != 0) {
      throw DataError(fmt::format("data.data_dir {} is missing or unreadable on this node ({})", dir, node_name()));
    }
    return std::string("ok");
  });
  local.run("device", [&] {
    auto text = env.device.empty() ? local.config["trainer"].value("device", std::string("cpu")) : env.device;
    local.device = parse_device(text);
    return local.device.str();
  });
  return local;
}

// What this rank believes the job is; rank 0 compares every rank's with its own.
json facts_of(const WorkerEnvironment& env, const LocalChecks& local) {
  auto config = local.config;
  if (config.is_object() && config.contains("trainer")) {
    for (const char* key : {"rank", "local_rank", "world_size", "master_addr", "master_port"}) {
      config["trainer"].erase(key);
    }
  }
  return {{"rank", env.rank},       {"host", node_name()},     {"world_size", env.world_size},
          {"nnodes", env.nnodes},   {"local_world_size", env.local_world_size},
          {"slurm_job", env.slurm_job_id}, {"config", config.dump()}, {"row", local.row},
          {"failure", local.failure}};
}

// Rank 0: every rank's facts (posted under a counter, so that two ranks claiming one number
// are both seen), then the first disagreement or failure, or "".
std::string judge(dist::Rendezvous& rendezvous, const WorkerEnvironment& env, std::vector<json>& posts) {
  const auto deadline = Clock::now() + kCheckTimeout;
  int64_t count = 0, read = 0, rank0_posts = 0;
  // A rank that believes in another world size is reason enough: no need to wait for the rest.
  bool disagreement = false;
  while ((count = rendezvous.add("bolt/check/posts", 0)) < env.world_size && Clock::now() < deadline && !disagreement) {
    for (; read < count; ++read) {
      const auto p = json::parse(rendezvous.get(fmt::format("bolt/check/post/{}", read + 1)));
      rank0_posts += p["rank"] == 0 ? 1 : 0;  // a second rank 0 too (claimed_at_holder)
      disagreement = disagreement || p["world_size"] != env.world_size || p["nnodes"] != env.nnodes || rank0_posts > 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // ranks beyond the expected count
  count = rendezvous.add("bolt/check/posts", 0);
  std::vector<bool> seen(static_cast<std::size_t>(env.world_size), false);
  std::string verdict;
  auto fail = [&](std::string why) { if (verdict.empty()) verdict = std::move(why); };
  const json* mine = nullptr;
  for (int64_t i = 1; i <= count; ++i) posts.push_back(json::parse(rendezvous.get(fmt::format("bolt/check/post/{}", i))));
  for (const auto& p : posts) if (p["rank"] == 0 && p["world_size"] == env.world_size) mine = &p;
  for (const auto& p : posts) {
    const auto rank = p["rank"].get<int64_t>();
    const auto who = fmt::format("rank {} ({})", rank, p["host"].get<std::string>());
    if (!p["failure"].get<std::string>().empty()) fail(fmt::format("{}: {}", who, p["failure"].get<std::string>()));
    if (p["world_size"] != env.world_size || p["nnodes"] != env.nnodes) {
      fail(fmt::format("{} believes the job has {} ranks on {} node(s), rank 0 ({}) {} on {}: start every node with "
                       "the same --nnodes and --nproc-per-node", who, p["world_size"].get<int64_t>(),
                       p["nnodes"].get<int64_t>(), node_name(), env.world_size, env.nnodes));
    }
    // Under Slurm the run id is the job id: another one means another job on this master port.
    // (Local launchers each generate their own unless --run-id is given.)
    if (!env.slurm_job_id.empty() && p.value("slurm_job", std::string()) != env.slurm_job_id) {
      fail(fmt::format("{} belongs to Slurm job {}, rank 0 to job {}: two jobs share the master port {}", who,
                       p.value("slurm_job", std::string("?")), env.slurm_job_id, env.master_port));
    }
    if (mine && p["failure"].get<std::string>().empty() && (*mine)["failure"].get<std::string>().empty() &&
        p["config"] != (*mine)["config"]) {
      fail(fmt::format("{} resolved a different config than rank 0: every node must run the same config, plugins "
                       "and overrides", who));
    }
    if (rank >= 0 && rank < env.world_size) {
      if (seen[static_cast<std::size_t>(rank)]) fail(fmt::format("two processes claim rank {}: check --node-rank on every node", rank));
      seen[static_cast<std::size_t>(rank)] = true;
    }
  }
  std::vector<int64_t> missing;
  for (int64_t r = 0; r < env.world_size; ++r) if (!seen[static_cast<std::size_t>(r)]) missing.push_back(r);
  if (!missing.empty()) {
    fail(fmt::format("{} of {} ranks did not report within {} s (missing: rank {}{}): are all nodes started, with this "
                     "master address and port?", missing.size(), env.world_size, kCheckTimeout.count(), missing.front(),
                     missing.size() > 1 ? " and others" : ""));
  }
  return verdict;
}

void print_table(const std::vector<json>& posts, const WorkerEnvironment& env, const std::string& allreduce) {
  std::string text = fmt::format("bolt-launch --check: {} ranks on {} node(s), master {}:{}\n", env.world_size,
                                 env.nnodes, env.master_addr, env.master_port);
  text += fmt::format("{:<6} {:<16} {:<22} {:<20} {:<10} {:<11} {}\n", "rank", "host", "config", "data", "device",
                      "rendezvous", "allreduce");
  auto sorted = posts;
  std::sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) { return a["rank"] < b["rank"]; });
  for (const auto& p : sorted) {
    const auto& row = p["row"];
    text += fmt::format("{:<6} {:<16} {:<22} {:<20} {:<10} {:<11} {}\n", p["rank"].get<int64_t>(),
                        p["host"].get<std::string>(), row.value(kColumns[0], "-"), row.value(kColumns[1], "-"),
                        row.value(kColumns[2], "-"), "ok", allreduce);
  }
  std::cout << text;
}

// A second rank 0 (two nodes both started as node 0) finds the master port taken. When the
// holder is this job's check, the claim is posted there, so the first rank 0 names the
// duplicate at once instead of waiting kCheckTimeout for a rank that will never report.
void post_facts(dist::Rendezvous& rendezvous, const std::string& facts) {
  rendezvous.set(fmt::format("bolt/check/post/{}", rendezvous.add("bolt/check/posts", 1)), facts);
}

bool claimed_at_holder(const WorkerEnvironment& env, const std::string& facts) {
  auto as_client = env;
  as_client.rank = env.world_size;  // any rank but 0: a client of the store, not its host
  try {
    auto holder = dist::open_rendezvous(as_client, std::chrono::seconds(1));
    // The first rank 0 posts right after it binds; this one may have come in between.
    const auto until = Clock::now() + std::chrono::seconds(1);
    while (!holder->has("bolt/check/posts")) {
      if (Clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    post_facts(*holder, facts);
    return true;
  } catch (const std::exception&) {
    return false;  // another program, or a job that is not in its check
  }
}

}  // namespace

int run_preflight(const std::vector<std::string>& args) {
  const auto env = WorkerEnvironment::from_process();
  PluginLoader loader;
  auto local = check_locally(args, env, loader);
  if (env.world_size == 1) {
    if (local.usage_error) throw UsageError("check: " + local.failure);
    if (!local.failure.empty()) throw Error("check: " + local.failure);
    print_table({facts_of(env, local)}, env, "- (1 rank)");
    std::cout << "check: ok\n";
    return 0;
  }
  // The rendezvous: resolving and reaching the master within kCheckTimeout.
  const auto facts = facts_of(env, local).dump();
  std::unique_ptr<dist::Rendezvous> rendezvous;
  try {
    rendezvous = dist::open_rendezvous(env, kCheckTimeout);
  } catch (const dist::PortInUseError& e) {
    if (claimed_at_holder(env, facts)) {
      throw DistributedError(fmt::format("{}; another rank 0 of this job's check holds it: are two nodes started "
                                         "as node 0 (--node-rank)?", e.what()));
    }
    throw;
  }
  post_facts(*rendezvous, facts);
  std::vector<json> posts;
  std::string verdict;
  if (env.rank == 0) {
    verdict = judge(*rendezvous, env, posts);
    rendezvous->set("bolt/check/verdict", verdict);
    // Rank 0 hosts the store: it stays until every other rank has read the verdict (or 3 s); a
    // second rank 0 does not read it (claimed_at_holder).
    const auto readers = std::count_if(posts.begin(), posts.end(), [](const json& p) { return p["rank"] != 0; });
    const auto until = Clock::now() + std::chrono::seconds(3);
    while (rendezvous->add("bolt/check/read", 0) < readers && Clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } else {
    const auto deadline = Clock::now() + 2 * kCheckTimeout + std::chrono::seconds(5);
    while (!rendezvous->has("bolt/check/verdict")) {
      if (Clock::now() > deadline) throw DistributedError("check: rank 0 gave no verdict: it is stuck or gone");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    verdict = rendezvous->get("bolt/check/verdict");
    rendezvous->add("bolt/check/read", 1);
  }
  if (!verdict.empty()) {
    if (env.rank == 0) print_table(posts, env, "- (not run)");
    if (local.usage_error) throw UsageError("check: " + verdict);
    throw Error("check: " + verdict);
  }
  // One tiny allreduce through the process group the job would use.
  const auto started = Clock::now();
  auto comm = dist::connect(env, local.device, local.config["trainer"].value("dist_backend", std::string("auto")),
                            *rendezvous, kCheckTimeout);
  auto ones = at::ones({1}, at::TensorOptions().dtype(at::kFloat).device(local.device));
  comm->allreduce_sum(ones, "check");
  if (ones.item<float>() != static_cast<float>(env.world_size)) {
    throw DistributedError(fmt::format("check: the allreduce summed to {}, not {} ranks", ones.item<float>(), env.world_size));
  }
  comm->barrier("check done");
  const auto ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  if (env.rank == 0) {
    print_table(posts, env, fmt::format("ok ({}, {:.0f} ms)", comm->backend(), ms));
    std::cout << fmt::format("check: ok: {} ranks can run this job\n", env.world_size);
  }
  return 0;
}

}  // namespace bolt
