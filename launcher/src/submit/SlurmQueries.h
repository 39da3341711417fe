#pragma once
// What `bolt-launch submit` and `status` ask Slurm's client commands, and the parsing of their
// answers (pure functions, unit-tested on captured text).
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bolt::launch {

// "MaxArraySize = 1001" from `scontrol show config`; nullopt when absent.
std::optional<std::size_t> parse_max_array_size(const std::string& show_config);

// "123" or "123;cluster" from `sbatch --parsable`; throws EnvironmentError on anything else.
std::string parse_sbatch_job_id(const std::string& output);

// One `scontrol show job -o` line as key=value fields (values run to the next " Key=").
std::map<std::string, std::string> parse_job_record(const std::string& line);

// "3", "2-5%2", "0,4-5": the array task indices a record stands for.
std::vector<std::size_t> parse_array_task_ids(const std::string& text);

// State of every array task (or of the job itself under index 0) of job `id`, from scontrol;
// empty when Slurm no longer knows the job (past MinJobAge) or cannot be asked.
struct TaskRecord {
  std::string state, job_id, command;  // JobState, JobId (the task's own), Command (the script)
};
std::map<std::size_t, TaskRecord> query_job_tasks(const std::string& id);

}  // namespace bolt::launch
