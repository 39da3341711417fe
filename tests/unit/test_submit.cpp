// bolt-launch submit/status: quoting against a real shell, #SBATCH values, the sweep grid, the
// scripts (golden files), the submit section of a config, Slurm's answers, the requeue policy.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bolt/Error.h"
#include "submit/SbatchScript.h"
#include "submit/SlurmQueries.h"
#include "submit/SubmitOptions.h"
#include "submit/Sweep.h"
#include "test_support.h"
#include "train/SlurmRequeue.h"
#include "util/Subprocess.h"

using namespace bolt::launch;

namespace {

// BOLT_UPDATE_GOLDEN=1 rewrites the file from `actual` (then read the diff before committing).
std::string golden(const std::string& name, const std::string& actual) {
  const auto path = std::string(SUBMIT_FIXTURES) + "/" + name;
  if (std::getenv("BOLT_UPDATE_GOLDEN")) std::ofstream(path) << actual;
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ScriptSpec spec_for(SubmitOptions resources) {
  return {std::move(resources), "bolt-mlp", "/opt/bolt/bin/bolt-launch", "fit", "/home/u/project",
          "/home/u/project/logs/submit/bolt-mlp-20261127-120000", std::nullopt};
}

SubmitOptions parse(std::vector<std::string> args) {
  args.insert(args.begin(), "submit");
  auto options = parse_submit_options(args);
  REQUIRE(options.has_value());
  return *options;
}

}  // namespace

TEST_CASE("shell_quote: bash reads every nasty value back literally", "[submit]") {
  for (const std::string value : {"plain", "two words", "$(touch PWNED)", "`touch PWNED`", "it's", "\"dq\"",
                                  "a;b", "line1\nline2", "back\\slash", "'", "", "$HOME ${x} !x *"}) {
    const auto result = bolt::run_subprocess({"bash", "-c", "printf %s " + shell_quote(value)});
    REQUIRE(result.ok());
    CHECK(result.output == value);
  }
}

TEST_CASE("directive_value: one line, quoted when it has spaces, refused otherwise", "[submit]") {
  CHECK(directive_value("--time", "1:00:00") == "1:00:00");
  CHECK(directive_value("--job-name", "my job") == "\"my job\"");
  CHECK_THROWS_AS(directive_value("--job-name", "a\nb"), bolt::UsageError);
  CHECK_THROWS_WITH(directive_value("--job-name", "say \"hi\""), Catch::Contains("--job-name") && Catch::Contains("double quote"));
  SubmitOptions extra;
  extra.sbatch_args = {"--comment=$(touch X) two", "--hold"};
  auto spec = spec_for(extra);
  const auto script = sbatch_script(spec);
  CHECK_THAT(script, Catch::Contains("\n#SBATCH --comment=\"$(touch X) two\"\n#SBATCH --hold\n"));
}

TEST_CASE("sweep grid: product order, run names, bounds", "[submit]") {
  const auto points = expand_grid({parse_sweep_axis("model.lr=0.01,0.02,0.04"), parse_sweep_axis("data.batch_size=16,32")});
  REQUIRE(points.size() == 6);
  CHECK(points[0].name_suffix == "lr=0.01,batch_size=16");
  CHECK(points[1].name_suffix == "lr=0.01,batch_size=32");
  CHECK(points[5].overrides == std::vector<std::pair<std::string, std::string>>{{"model.lr", "0.04"}, {"data.batch_size", "32"}});
  const auto clash = expand_grid({parse_sweep_axis("model.lr=1"), parse_sweep_axis("trainer.lr=2")});
  CHECK(clash[0].name_suffix == "model.lr=1,trainer.lr=2");
  CHECK(expand_grid({parse_sweep_axis("loggers.name=a/../b $(x)")})[0].name_suffix == "name=a_.._b___x_");
  CHECK_THROWS_WITH(expand_grid({parse_sweep_axis("model.lr=1"), parse_sweep_axis("model.lr=2")}), Catch::Contains("given twice"));
  const SweepAxis wide{"model.lr", std::vector<std::string>(1000, "1")}, other{"model.wd", std::vector<std::string>(11, "1")};
  CHECK_THROWS_WITH(expand_grid({wide, other}), Catch::Contains("more than 10000 points"));
  CHECK_THROWS_WITH(parse_sweep_axis("lr=0.1"), Catch::Contains("SECTION.KEY=V1,V2"));
  CHECK_THROWS_WITH(parse_sweep_axis("model.lr=0.1,,0.2"), Catch::Contains("empty value"));
  CHECK_THROWS_AS(parse_sweep_axis("model.l$(r)=1"), bolt::UsageError);
  CHECK(split_into_arrays(7, 3) == std::vector<std::pair<std::size_t, std::size_t>>{{0, 3}, {3, 3}, {6, 1}});
  CHECK(split_into_arrays(2, 1001) == std::vector<std::pair<std::size_t, std::size_t>>{{0, 2}});
}

TEST_CASE("sbatch scripts for each shape match their golden files", "[submit]") {
  SubmitOptions per_rank;
  per_rank.nodes = 2;
  per_rank.ntasks_per_node = 2;
  per_rank.cpus_per_task = 1;
  per_rank.time = "1:00:00";
  per_rank.partition = "debug";
  per_rank.sbatch_args = {"--mail-type=END"};
  const auto per_rank_text = sbatch_script(spec_for(per_rank));
  CHECK(per_rank_text == golden("per-rank.sbatch", per_rank_text));

  SubmitOptions per_node;
  per_node.nodes = 2;
  per_node.gpus_per_node = 4;
  per_node.exclusive = true;
  per_node.requeue = false;
  per_node.signal_lead_s = 300;
  const auto per_node_gpu_text = sbatch_script(spec_for(per_node));
  CHECK(per_node_gpu_text == golden("per-node-gpu.sbatch", per_node_gpu_text));

  SubmitOptions sweep;
  sweep.max_parallel = 2;
  auto spec = spec_for(sweep);
  spec.array_slice = std::pair<std::size_t, std::size_t>{3, 3};
  const auto array_slice_text = sbatch_script(spec);
  CHECK(array_slice_text == golden("array-slice.sbatch", array_slice_text));
}

TEST_CASE("submit options: the config's submit section, the command line over it, bad values named", "[submit]") {
  TempDir dir;
  const auto config = dir.write("cfg.json", R"({"submit": {"nodes": 2, "ntasks_per_node": 2, "time": "0:30:00",
      "sbatch_args": ["--mail-type=END"], "sweep": {"model.lr": [0.1, 0.2]}, "max_parallel": 1}})");
  auto o = parse({"--time", "2:00:00", "--", "fit", "--config", config});
  CHECK(o.nodes == 2);
  CHECK(o.ntasks_per_node == 2);
  CHECK(o.time == "2:00:00");
  CHECK(o.sbatch_args == std::vector<std::string>{"--mail-type=END"});
  REQUIRE(o.sweep.size() == 1);
  CHECK(o.sweep[0].values == std::vector<std::string>{"0.1", "0.2"});
  CHECK(parse({"--sweep", "model.lr=1,2,3", "--", "fit", "--config", config}).sweep[0].values.size() == 3);

  const auto typo = dir.write("typo.json", R"({"submit": {"node": 2}})");
  CHECK_THROWS_WITH(parse({"--", "fit", "--config", typo}), Catch::Contains("submit.node: unknown key"));
  const auto wrong = dir.write("wrong.json", R"({"submit": {"nodes": "two"}})");
  CHECK_THROWS_WITH(parse({"--", "fit", "--config", wrong}), Catch::Contains("submit.nodes: expected an integer"));
  CHECK_THROWS_WITH(parse({"--nodes", "0", "--", "fit"}), Catch::Contains("--nodes 0 is outside 1..100000"));
  CHECK_THROWS_WITH(parse({"--ntasks-per-node", "2", "--nproc-per-node", "2", "--", "fit"}), Catch::Contains("give one"));
  CHECK_THROWS_WITH(parse({"--job-name", "a\nb", "--", "fit"}), Catch::Contains("control character"));
  CHECK_THROWS_WITH(parse({"--sbatch-arg", "touch X", "--", "fit"}), Catch::Contains("is not an sbatch option"));
  CHECK_THROWS_WITH(parse({"--max-parallel", "2", "--", "fit"}), Catch::Contains("give --sweep too"));
  CHECK_THROWS_WITH(parse({"--nodes", "2"}), Catch::Contains("nothing to submit"));
  CHECK_THROWS_WITH(parse({"--", "--list"}), Catch::Contains("asks the worker a question"));
  CHECK_THROWS_AS(parse({"--nodes", "x", "--", "fit"}), bolt::UsageError);
}

TEST_CASE("Slurm's answers: MaxArraySize, sbatch --parsable, job records, array task ids", "[submit]") {
  CHECK(parse_max_array_size("AuthType = auth/munge\nMaxArraySize            = 3\nMaxJobCount = 10000\n") == 3u);
  CHECK_FALSE(parse_max_array_size("MaxJobCount = 10000\n").has_value());
  CHECK(parse_sbatch_job_id("123\n") == "123");
  CHECK(parse_sbatch_job_id("123;cluster\n") == "123");
  CHECK_THROWS_AS(parse_sbatch_job_id("sbatch: error: x"), bolt::EnvironmentError);
  const auto record = parse_job_record("JobId=124 ArrayJobId=122 ArrayTaskId=2 JobName=my job x UserId=root(0) "
                                       "JobState=RUNNING Reason=None Restarts=1 TRES=cpu=1,node=1 Command=/a b/job.sbatch");
  CHECK(record.at("JobId") == "124");
  CHECK(record.at("JobName") == "my job x");
  CHECK(record.at("TRES") == "cpu=1,node=1");
  CHECK(record.at("Command") == "/a b/job.sbatch");
  CHECK(parse_array_task_ids("3") == std::vector<std::size_t>{3});
  CHECK(parse_array_task_ids("2-4%2") == std::vector<std::size_t>{2, 3, 4});
  CHECK(parse_array_task_ids("0,5-6") == std::vector<std::size_t>{0, 5, 6});
}

TEST_CASE("requeue policy: Slurm durations, a time-limit stop told from a preemption", "[submit]") {
  CHECK(bolt::parse_slurm_duration("00:01:30") == 90.0);
  CHECK(bolt::parse_slurm_duration("1-02:00:00") == 93600.0);
  CHECK(bolt::parse_slurm_duration("05:00") == 300.0);
  CHECK_FALSE(bolt::parse_slurm_duration("UNLIMITED").has_value());
  CHECK_FALSE(bolt::parse_slurm_duration("1-02:00").has_value());
  CHECK(bolt::is_time_limit_stop(100.0, 90.0));   // the signal may come up to a minute early
  CHECK_FALSE(bolt::is_time_limit_stop(3600.0, 90.0));
  CHECK_FALSE(bolt::is_time_limit_stop(std::nullopt, 90.0));  // no limit: a preemption
  TempDir dir;
  bolt::append_requeue_record(dir.path, {{"reason", "time_limit"}});
  bolt::append_requeue_record(dir.path, {{"reason", "preemption"}});
  bolt::append_requeue_record(dir.path, {{"reason", "time_limit"}});
  CHECK(bolt::count_time_limit_requeues(dir.path) == 2);
}
