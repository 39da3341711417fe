#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <set>

#include "bolt/Error.h"
#include "bolt/StrictNumber.h"
#include "bolt/WorkerContract.h"
#include "bolt/WorkerEnvironment.h"
#include "test_support.h"
#include "bolt/launch/LaunchPlan.h"
#include "bolt/slurm/Hostlist.h"
#include "bolt/slurm/SlurmEnvironment.h"

using bolt::slurm::expand_hostlist;
using bolt::slurm::expand_tasks_per_node;
using Hosts = std::vector<std::string>;

namespace {
// An environment captured on the local test cluster (tests/fixtures/slurm/*.env), plus edits.
std::map<std::string, std::string> fixture(const std::string& name) {
  std::ifstream in(std::string(SLURM_FIXTURES) + "/" + name + ".env");
  REQUIRE(in.good());
  std::map<std::string, std::string> vars;
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) vars[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return vars;
}
}  // namespace

TEST_CASE("hostlist expansion covers Slurm's grammar", "[slurm]") {
  const std::vector<std::pair<std::string, Hosts>> cases = {
      {"n1", {"n1"}},
      {"n[1-3]", {"n1", "n2", "n3"}},
      {"n[1-3,7]", {"n1", "n2", "n3", "n7"}},
      {"n[7,1-2]", {"n7", "n1", "n2"}},
      {"gpu[001-003]", {"gpu001", "gpu002", "gpu003"}},
      {"gpu[008-011]", {"gpu008", "gpu009", "gpu010", "gpu011"}},
      {"gpu[01-04,07],cpu3", {"gpu01", "gpu02", "gpu03", "gpu04", "gpu07", "cpu3"}},
      {"r[1-2]n[01-02]", {"r1n01", "r1n02", "r2n01", "r2n02"}},
      {"r[1-2]-n[1-2]-x", {"r1-n1-x", "r1-n2-x", "r2-n1-x", "r2-n2-x"}},
      {"a,b[1-2],c", {"a", "b1", "b2", "c"}},
      {"node-1,node-2", {"node-1", "node-2"}},
      {"node-[1-2]", {"node-1", "node-2"}},
      {"host.example.org", {"host.example.org"}},
      {"c[1-2].cluster.local", {"c1.cluster.local", "c2.cluster.local"}},
      {"10.0.0.[1-3]", {"10.0.0.1", "10.0.0.2", "10.0.0.3"}},
      {"192.168.1.10,192.168.1.11", {"192.168.1.10", "192.168.1.11"}},
      {"n[5]", {"n5"}},
      {"n[09-10]", {"n09", "n10"}},
      {"n[98-101]", {"n98", "n99", "n100", "n101"}},
      {"[1-2]", {"1", "2"}},
      {"n[1-2]x", {"n1x", "n2x"}},
      {"a[1-2],b[3-4]", {"a1", "a2", "b3", "b4"}},
      {"x[0-1]y[0-1]z[0-1]", {"x0y0z0", "x0y0z1", "x0y1z0", "x0y1z1", "x1y0z0", "x1y0z1", "x1y1z0", "x1y1z1"}},
      {"n1,n1", {"n1", "n1"}},
      {"n[1-2,4-5]", {"n1", "n2", "n4", "n5"}},
  };
  for (const auto& [list, hosts] : cases) {
    INFO(list);
    CHECK(expand_hostlist(list) == hosts);
  }
  for (const std::string bad : {"", "n[1-3", "n1-3]", "n[3-1]", "n[a-b]", "n[1-]", "a,,b", "n[[1-2]]", "n [1-2]", "n[]", ","}) {
    INFO(bad);
    CHECK_THROWS_AS(expand_hostlist(bad), bolt::EnvironmentError);
  }
  CHECK_THROWS_WITH(expand_hostlist("n[3-1]"), Catch::Contains("malformed Slurm host list 'n[3-1]': range 3-1 runs backwards"));
}

TEST_CASE("tasks-per-node counts", "[slurm]") {
  CHECK(expand_tasks_per_node("2(x3),1") == std::vector<int64_t>{2, 2, 2, 1});
  CHECK(expand_tasks_per_node("4") == std::vector<int64_t>{4});
  CHECK(expand_tasks_per_node("1,2,3") == std::vector<int64_t>{1, 2, 3});
  CHECK(expand_tasks_per_node("2(x2)") == std::vector<int64_t>{2, 2});
  for (const std::string bad : {"", "x", "2(x)", "2(x3", "2(3)", "-1", "2,,1", "0", "2(x0)", "1,0(x2)"}) {
    INFO(bad);
    CHECK_THROWS_AS(expand_tasks_per_node(bad), bolt::EnvironmentError);
  }
  // At most 100,000 nodes, whether repeated or listed: plain items count too (found by fuzzing).
  CHECK(expand_tasks_per_node("1,2(x99999)").size() == 100000);
  CHECK_THROWS_AS(expand_tasks_per_node("1,2(x99999),3"), bolt::EnvironmentError);
  CHECK_THROWS_AS(expand_tasks_per_node("2(x99999),1,1"), bolt::EnvironmentError);
}

TEST_CASE("Slurm step, one task per rank (shape a), from a captured environment", "[slurm]") {
  const auto plan = bolt::launch::resolve_plan({}, lookup_in(fixture("step-2x2-3")));
  REQUIRE(plan.ranks.size() == 1);
  CHECK(plan.source == "slurm");
  CHECK(plan.exec_in_place);
  CHECK(plan.world_size == 4);
  CHECK(plan.ranks[0].rank == 3);
  CHECK(plan.ranks[0].local_rank == 1);
  CHECK(plan.local_world_size == 2);
  CHECK(plan.node_rank == 1);
  CHECK(plan.nnodes == 2);
  CHECK(plan.master_addr == "n1");
  CHECK(plan.master_port == bolt::slurm::derive_master_port("1"));
  CHECK(plan.run_id == "1");
  CHECK(plan.worker_env(plan.ranks[0]).at("BOLT_SLURM_JOB_ID") == "1");  // what rank 0 requeues
  CHECK(plan.sources.at("world_size") == "SLURM_STEP_NUM_TASKS");
  CHECK(plan.sources.at("master_addr") == "SLURM_STEP_NODELIST");
  CHECK(plan.sources.at("local_world_size") == "SLURM_STEP_TASKS_PER_NODE");
  CHECK(plan.ranks[0].device == "cpu");
}

TEST_CASE("an array task is requeued and resumed as <array job>_<task>", "[slurm]") {
  auto vars = fixture("step-2x2-3");
  vars["SLURM_ARRAY_JOB_ID"] = "40";
  vars["SLURM_ARRAY_TASK_ID"] = "2";
  vars["SLURM_RESTART_COUNT"] = "3";
  const auto plan = bolt::launch::resolve_plan({}, lookup_in(vars));
  const auto env = plan.worker_env(plan.ranks[0]);
  CHECK(env.at("BOLT_SLURM_JOB_ID") == "40_2");
  CHECK(env.at("BOLT_RUN_ID") == "40_2");
  CHECK(env.at("BOLT_RESTART_COUNT") == "3");
}

TEST_CASE("Slurm step, one task per node + --nproc-per-node (shape b)", "[slurm]") {
  bolt::launch::LaunchOptions options;
  options.nproc_per_node = "2";
  const auto plan = bolt::launch::resolve_plan(options, lookup_in(fixture("step-2x1-1")));
  REQUIRE(plan.ranks.size() == 2);
  CHECK_FALSE(plan.exec_in_place);
  CHECK(plan.world_size == 4);
  CHECK(plan.ranks[0].rank == 2);
  CHECK(plan.ranks[1].rank == 3);
  CHECK(plan.node_rank == 1);
  CHECK(plan.nnodes == 2);
  // Two tasks on this node and --nproc-per-node: inconsistent, and said so.
  CHECK_THROWS_WITH(bolt::launch::resolve_plan(options, lookup_in(fixture("step-2x2-0"))),
                    Catch::Contains("Slurm started 2 tasks on this node (SLURM_STEP_TASKS_PER_NODE)"));
  bolt::launch::LaunchOptions wrong_nodes;
  wrong_nodes.nnodes = 3;
  CHECK_THROWS_WITH(bolt::launch::resolve_plan(wrong_nodes, lookup_in(fixture("step-2x2-0"))),
                    Catch::Contains("--nnodes 3 but the Slurm step has 2 nodes (SLURM_STEP_NUM_NODES)"));
}

TEST_CASE("explicit flags beat Slurm, job-scoped variables and the submit host are fallbacks", "[slurm]") {
  bolt::launch::LaunchOptions options;
  options.master_addr = "10.1.2.3";
  options.master_port = 4242;
  auto plan = bolt::launch::resolve_plan(options, lookup_in(fixture("step-2x2-0")));
  CHECK(plan.master_addr == "10.1.2.3");
  CHECK(plan.master_port == 4242);
  auto vars = fixture("step-2x2-0");
  for (auto key : {"SLURM_STEP_NODELIST", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_TASKS_PER_NODE", "SLURM_STEP_NUM_NODES"}) vars.erase(key);
  vars["SLURM_JOB_NODELIST"] = "gpu[07-08]";
  plan = bolt::launch::resolve_plan({}, lookup_in(vars));
  CHECK(plan.master_addr == "gpu07");
  CHECK(plan.sources.at("master_addr") == "SLURM_JOB_NODELIST");
  CHECK(plan.sources.at("world_size") == "SLURM_NTASKS");
  vars.erase("SLURM_JOB_NODELIST");
  vars.erase("SLURM_NODELIST");
  plan = bolt::launch::resolve_plan({}, lookup_in(vars));
  CHECK(plan.master_addr == "vm");
  CHECK(plan.sources.at("master_addr") == "SLURM_SUBMIT_HOST");
  vars["SLURM_PROCID"] = "9";
  CHECK_THROWS_WITH(bolt::launch::resolve_plan({}, lookup_in(vars)), Catch::Contains("SLURM_PROCID=9 is not below SLURM_NTASKS=4"));
  vars["SLURM_PROCID"] = "x";
  CHECK_THROWS_WITH(bolt::launch::resolve_plan({}, lookup_in(vars)), Catch::Contains("SLURM_PROCID='x' is not an integer"));
}

TEST_CASE("master port derivation: below the ephemeral range, distinct for nearby jobs", "[slurm]") {
  std::set<int> ports;
  for (int job = 1000; job < 1100; ++job) {
    const int port = bolt::slurm::derive_master_port(std::to_string(job));
    CHECK(port >= 15000);
    CHECK(port < 32768);
    ports.insert(port);
  }
  CHECK(ports.size() == 100);
  CHECK(bolt::slurm::derive_master_port("77_1") != bolt::slurm::derive_master_port("77_2"));
}

TEST_CASE("inside an allocation but outside a step: say run under srun, or run locally when asked", "[slurm]") {
  const auto shell = lookup_in(fixture("batch-shell"));
  CHECK_THROWS_WITH(bolt::launch::resolve_plan({}, shell),
                    Catch::Contains("inside Slurm job 1 but in an salloc or sbatch shell") && Catch::Contains("run under srun"));
  bolt::launch::LaunchOptions local;
  local.nproc_per_node = "2";
  const auto plan = bolt::launch::resolve_plan(local, shell);
  CHECK(plan.source == "local");
  CHECK(plan.ranks.size() == 2);
  CHECK(plan.note.find("running 2 rank(s) on this node only") != std::string::npos);
  auto pty = fixture("step-2x2-0");
  pty["SLURM_PTY_PORT"] = "4000";
  CHECK_THROWS_WITH(bolt::launch::resolve_plan({}, lookup_in(pty)), Catch::Contains("interactive srun --pty shell"));
  bolt::launch::LaunchOptions no_slurm;
  no_slurm.no_slurm = true;
  CHECK(bolt::launch::resolve_plan(no_slurm, shell).source == "device");
}

TEST_CASE("GPU binding: local rank modulo the visible GPUs", "[slurm]") {
  auto vars = fixture("step-2x2-3");  // local rank 1
  vars["CUDA_VISIBLE_DEVICES"] = "5";  // --gpus-per-task=1: one visible GPU
  CHECK(bolt::launch::resolve_plan({}, lookup_in(vars)).ranks[0].device == "cuda:0");
  vars["CUDA_VISIBLE_DEVICES"] = "0,1";
  CHECK(bolt::launch::resolve_plan({}, lookup_in(vars)).ranks[0].device == "cuda:1");
  vars["CUDA_VISIBLE_DEVICES"] = "0,1,2,3";
  bolt::launch::LaunchOptions cpu;
  cpu.device = "cpu";
  CHECK(bolt::launch::resolve_plan(cpu, lookup_in(vars)).ranks[0].device == "cpu");
  auto node = fixture("step-2x1-0");
  node["CUDA_VISIBLE_DEVICES"] = "0,1,2,3";
  bolt::launch::LaunchOptions per_node;
  per_node.nproc_per_node = "auto";
  const auto plan = bolt::launch::resolve_plan(per_node, lookup_in(node));
  REQUIRE(plan.ranks.size() == 4);
  CHECK(plan.ranks[3].device == "cuda:3");
  CHECK(plan.world_size == 8);
}

TEST_CASE("expansions are bounded: a short string never allocates for seconds", "[slurm]") {
  CHECK_THROWS_WITH(expand_hostlist("r[0-99999]n[0-99999]"), Catch::Contains("expands to more than 100000 hosts"));
  CHECK_THROWS_WITH(expand_hostlist("n[0-99999,0-99999]"), Catch::Contains("more than 100000 hosts"));
  CHECK_THROWS_WITH(expand_hostlist("n[0-99999999999]"), Catch::Contains("at most 9 digits"));
  CHECK_THROWS_WITH(expand_tasks_per_node("1(x99999999999)"), Catch::Contains("at most 9 digits"));
  CHECK_THROWS_WITH(expand_tasks_per_node("1(x999999999)"), Catch::Contains("more than 100000 nodes"));
  CHECK_THROWS_WITH(expand_tasks_per_node("99999999999999999999"), Catch::Contains("at most 9 digits"));
  CHECK(expand_hostlist("n[1-3]").size() == 3);
  CHECK(expand_tasks_per_node("2(x3),1") == std::vector<int64_t>{2, 2, 2, 1});
}

TEST_CASE("a step's node count, node list and tasks-per-node list must agree", "[slurm]") {
  std::map<std::string, std::string> step{{"SLURM_JOB_ID", "1"},          {"SLURM_STEP_ID", "0"},
                                          {"SLURM_PROCID", "0"},          {"SLURM_LOCALID", "0"},
                                          {"SLURM_NODEID", "0"},          {"SLURM_STEP_NUM_TASKS", "7"},
                                          {"SLURM_STEP_NUM_NODES", "7"},  {"SLURM_STEP_TASKS_PER_NODE", "1(x7)"},
                                          {"SLURM_STEP_NODELIST", "n[1-2]"}};
  CHECK_THROWS_WITH(bolt::slurm::SlurmEnvironment::detect(lookup_in(step)),
                    Catch::Contains("SLURM_STEP_NUM_NODES=7 but SLURM_STEP_NODELIST names 2 host(s)"));
  step["SLURM_STEP_NODELIST"] = "n[1-7]";
  step["SLURM_STEP_TASKS_PER_NODE"] = "7";
  CHECK_THROWS_WITH(bolt::slurm::SlurmEnvironment::detect(lookup_in(step)),
                    Catch::Contains("SLURM_STEP_NUM_NODES=7 but SLURM_STEP_TASKS_PER_NODE lists 1 node(s)"));
  step["SLURM_STEP_TASKS_PER_NODE"] = "1(x7)";
  CHECK(bolt::slurm::SlurmEnvironment::detect(lookup_in(step))->nodes.size() == 7);
}

// The launch contract round trip: what the launcher writes for each rank is what the worker
// reads back, for a Slurm step (one task per rank) and a local multi-node launcher.
TEST_CASE("worker contract: plan -> env -> worker view, field by field", "[env]") {
  auto check_round_trip = [](const bolt::launch::LaunchPlan& plan) {
    for (const auto& rank : plan.ranks) {
      const auto env = plan.worker_env(rank);
      const auto worker = bolt::WorkerEnvironment::from(lookup_in(env));
      CHECK(worker.rank == rank.rank);
      CHECK(worker.local_rank == rank.local_rank);
      CHECK(worker.world_size == plan.world_size);
      CHECK(worker.local_world_size == plan.local_world_size);
      CHECK(worker.node_rank == plan.node_rank);
      CHECK(worker.nnodes == plan.nnodes);
      CHECK(worker.master_addr == plan.master_addr);
      CHECK(worker.master_port == plan.master_port);
      CHECK(worker.device == rank.device);
      CHECK(worker.run_id == plan.run_id);
      CHECK(worker.restart_count == plan.restart_count);
      CHECK(worker.slurm_job_id == plan.slurm_job_id);
      CHECK(worker.launch_time == Approx(plan.launch_time).margin(1e-5));
      CHECK(worker.source == "torchrun");
    }
  };
  check_round_trip(bolt::launch::resolve_plan({}, lookup_in(fixture("step-2x2-3"))));
  bolt::launch::LaunchOptions local;
  local.no_slurm = true;
  local.nproc_per_node = "3";
  local.nnodes = 2;
  local.node_rank = 1;
  local.master_addr = "10.0.0.7";
  local.master_port = 23456;
  local.run_id = "job-42";
  const auto plan = bolt::launch::resolve_plan(local, lookup_in({}));
  REQUIRE(plan.ranks.size() == 3);
  CHECK(plan.ranks.back().rank == 5);
  check_round_trip(plan);
}

TEST_CASE("strict integers: the whole text, decimal, 64 bits", "[env]") {
  CHECK(bolt::parse_integer("42") == 42);
  CHECK(bolt::parse_integer("-7") == -7);
  CHECK(bolt::parse_integer("9223372036854775807") == INT64_MAX);
  for (const char* bad : {"", " 4", "4 ", "+4", "0x10", "4.0", "1e3", "9223372036854775808", "abc", "4abc"}) {
    CHECK_FALSE(bolt::parse_integer(bad).has_value());
  }
}

TEST_CASE("device names: one syntax for --device, trainer.device and BOLT_DEVICE", "[env]") {
  using bolt::contract::parse_device_name;
  CHECK_FALSE(parse_device_name("cpu")->cuda);
  CHECK(parse_device_name("cuda")->cuda);
  CHECK(parse_device_name("cuda:3")->index == 3);
  for (const char* bad : {"", "cpu:0", "cuda:", "cuda:x", "cuda:12345", "CUDA", "gpu", "cuda:1 "}) {
    CHECK_FALSE(parse_device_name(bad).has_value());
  }
}
