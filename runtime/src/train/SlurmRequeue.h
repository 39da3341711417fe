#pragma once
// Puts a Slurm job back in the queue (`scontrol requeue <job>`), so that it runs again from
// the top of its batch script with SLURM_RESTART_COUNT incremented, and tells a time-limit
// stop from a preemption (as submitit does: by the time the job has left).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace bolt {

// One JSON line per requeue in the run directory: time, job, reason, epoch, step.
inline constexpr const char* kRequeueRecord = "requeues.jsonl";

// `job_id` is SLURM_JOB_ID (an array task has its own). Returns an empty string on success,
// else why it failed (scontrol's exit status).
std::string requeue_slurm_job(const std::string& job_id);

// Slurm's "[D-]HH:MM:SS" / "MM:SS" in seconds; nullopt for UNLIMITED and anything else.
std::optional<double> parse_slurm_duration(const std::string& text);

// The job's time limit minus its run time (scontrol show job); nullopt without a limit or
// when scontrol cannot say.
std::optional<double> slurm_seconds_left(const std::string& job_id);

// A stop signal with this little time left is the time limit's warning, not a preemption.
bool is_time_limit_stop(std::optional<double> seconds_left, double signal_lead_s);

int64_t count_time_limit_requeues(const std::filesystem::path& run_dir);
void append_requeue_record(const std::filesystem::path& run_dir, const nlohmann::json& row);

}  // namespace bolt
