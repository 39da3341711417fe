#pragma once
// Puts a Slurm job back in the queue (`scontrol requeue <job>`), so that it runs again from
// the top of its batch script with SLURM_RESTART_COUNT incremented.
#include <string>

namespace bolt {

// `job_id` is SLURM_JOB_ID, or "<array job>_<task>" for an array task. Returns an empty
// string on success, else why it failed (scontrol's exit status).
std::string requeue_slurm_job(const std::string& job_id);

}  // namespace bolt
