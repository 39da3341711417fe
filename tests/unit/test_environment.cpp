#include <catch2/catch.hpp>

#include <map>

#include "bolt/Error.h"
#include "test_support.h"
#include "bolt/WorkerEnvironment.h"
#include "bolt/launch/LaunchPlan.h"


TEST_CASE("worker environment: torchrun names, Open MPI fallback, defaults", "[env]") {
  auto env = bolt::WorkerEnvironment::from(lookup_in({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                                                      {"LOCAL_WORLD_SIZE", "2"}, {"NODE_RANK", "1"}, {"NNODES", "2"},
                                                      {"MASTER_ADDR", "n1"}, {"MASTER_PORT", "1234"},
                                                      {"BOLT_DEVICE", "cuda:1"}}));
  CHECK(env.source == "torchrun");
  CHECK(env.rank == 3);
  CHECK(env.local_world_size == 2);
  CHECK(env.master_addr == "n1");
  CHECK(env.master_port == 1234);
  CHECK(env.device == "cuda:1");

  auto mpi = bolt::WorkerEnvironment::from(lookup_in({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                                                      {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                                      {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}}));
  CHECK(mpi.source == "openmpi");
  CHECK(mpi.rank == 2);
  CHECK(mpi.world_size == 4);
  CHECK(mpi.nnodes == 2);

  auto plain = bolt::WorkerEnvironment::from(lookup_in({}));
  CHECK(plain.source == "default");
  CHECK(plain.world_size == 1);

  CHECK_THROWS_WITH(bolt::WorkerEnvironment::from(lookup_in({{"RANK", "4"}, {"WORLD_SIZE", "4"}})),
                    Catch::Contains("rank 4 is not below world size 4"));
  CHECK_THROWS_WITH(bolt::WorkerEnvironment::from(lookup_in({{"RANK", "x"}, {"WORLD_SIZE", "4"}})),
                    Catch::Contains("RANK='x' is not an integer"));
  CHECK_THROWS_WITH(bolt::WorkerEnvironment::from(lookup_in({{"RANK", "0"}})), Catch::Contains("WORLD_SIZE is not"));
  CHECK_THROWS_AS(bolt::WorkerEnvironment::from(lookup_in({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "70000"}})),
                  bolt::EnvironmentError);
}

TEST_CASE("local launch plan: ranks, devices, worker environment", "[launch]") {
  using bolt::launch::LaunchOptions;
  auto no_gpu = lookup_in({{"CUDA_VISIBLE_DEVICES", ""}});
  LaunchOptions single;
  single.device = "cpu";
  auto plan = bolt::launch::resolve_local_plan(single, no_gpu);
  REQUIRE(plan.ranks.size() == 1);
  CHECK(plan.exec_in_place);
  CHECK(plan.source == "device");
  auto env = plan.worker_env(plan.ranks[0]);
  CHECK(env["RANK"] == "0");
  CHECK(env["WORLD_SIZE"] == "1");
  CHECK(env["BOLT_DEVICE"] == "cpu");
  CHECK(env["MASTER_PORT"] == "29500");
  CHECK(env.count("BOLT_SLURM_JOB_ID") == 0);  // nothing to requeue outside Slurm

  LaunchOptions two_nodes;
  two_nodes.nproc_per_node = "2";
  two_nodes.nnodes = 2;
  two_nodes.node_rank = 1;
  auto multi = bolt::launch::resolve_local_plan(two_nodes, no_gpu);
  REQUIRE(multi.ranks.size() == 2);
  CHECK(multi.world_size == 4);
  CHECK(multi.ranks[1].rank == 3);
  CHECK(multi.ranks[1].local_rank == 1);
  CHECK_FALSE(multi.exec_in_place);
  CHECK(multi.to_json(multi.ranks[0])["rank"] == 2);

  auto four_gpus = lookup_in({{"CUDA_VISIBLE_DEVICES", "0,1"}});
  LaunchOptions gpus;
  gpus.nproc_per_node = "auto";
  auto gpu_plan = bolt::launch::resolve_local_plan(gpus, four_gpus);
  REQUIRE(gpu_plan.ranks.size() == 2);
  CHECK(gpu_plan.ranks[1].device == "cuda:1");
  CHECK(bolt::launch::visible_gpu_count(lookup_in({{"CUDA_VISIBLE_DEVICES", "3"}})) == 1);

  LaunchOptions bad_device;
  bad_device.device = "gpu7";
  CHECK_THROWS_WITH(bolt::launch::resolve_local_plan(bad_device, no_gpu),
                    Catch::Contains("--device 'gpu7' is not one of cpu, cuda, cuda:N"));
  LaunchOptions pinned;
  pinned.device = "cuda:0";
  pinned.nproc_per_node = "2";
  CHECK_THROWS_AS(bolt::launch::resolve_local_plan(pinned, four_gpus), bolt::UsageError);
  LaunchOptions bad_nproc;
  bad_nproc.nproc_per_node = "0";
  CHECK_THROWS_WITH(bolt::launch::resolve_local_plan(bad_nproc, no_gpu), Catch::Contains("is not a positive number"));
  LaunchOptions standalone;
  standalone.standalone = true;
  standalone.nproc_per_node = "2";
  CHECK(bolt::launch::resolve_local_plan(standalone, no_gpu).master_port != 29500);
}
