#include "bolt/TrainerOptions.h"

#include <fmt/format.h>

#include "bolt/Error.h"
#include "bolt/MonitorMode.h"

namespace bolt {

void TrainerOptions::declare(OptionSet& options) {
  options.add_string("name", "default", "trainer to run: default, or one a plugin registers (BOLT_REGISTER_TRAINER)")
      .add_string("device", "", "cpu, cuda or cuda:N (default: BOLT_DEVICE from the launcher, else cpu)")
      .add_int("max_epochs", 5, "epochs to fit", 1)
      .add_int("max_steps", 0, "stop the fit after this many optimizer steps (0: no limit)", 0)
      .add_bool("verbose", false, "log every log_every_n_steps training steps")
      .add_int("log_every_n_steps", 50, "step interval of verbose logging", 1)
      .add_int("seed", 42, "seed of weights init, shuffling and dropout", 0)
      .add_bool("distributed", false, "informational: set when WORLD_SIZE > 1")
      .add_bool("use_slurm", false, "informational: set when launched from a Slurm step")
      .add_string("dist_backend", "auto", "process group backend (auto: nccl on CUDA, shm for CPU ranks sharing a node, else gloo)", {"auto", "gloo", "shm", "nccl"})
      .add_string("master_addr", "127.0.0.1", "rendezvous host (MASTER_ADDR wins)")
      .add_int("master_port", 29500, "rendezvous port (MASTER_PORT wins)", 1)
      .add_int("world_size", 1, "number of ranks (WORLD_SIZE wins)", 1)
      .add_int("rank", 0, "this process's rank (RANK wins)", 0)
      .add_int("local_rank", 0, "rank on this node (LOCAL_RANK wins)", 0)
      .add_int("dist_timeout_s", 300, "rendezvous and collective timeout in seconds (collectives wait at "
               "least hang_timeout_s + 30 while the hang watchdog is on)", 1)
      .add_float("hang_timeout_s", 600,
                 "a rank that makes no progress (no step, batch or collective) for this long writes "
                 "diagnosis/rank-<r>.json and exits 4; 0: off", 0.0)
      .add_float("bucket_cap_mb", 25.0, "gradient bucket size for the DDP allreduce", 0.001)
      .add_string("resume", "",
                  "fit from a checkpoint: auto (last.pt of the newest run of this name, if any) "
                  "or a file; the run continues in that checkpoint's run directory")
      .add_int("checkpoint_every_n_steps", 0,
               "also write last.pt every N optimizer steps, mid-epoch (0: at epoch ends only)", 0)
      .add_string("requeue_signal", "USR1",
                  "signal that makes every rank checkpoint at the same step and stop (exit 75); "
                  "under Slurm rank 0 then requeues the job", {"USR1", "USR2", "TERM", "none"})
      .add_int("max_requeues", 3,
               "requeues after a time-limit stop before the job fails instead (a stop with more "
               "time left is a preemption: always requeued)", 0)
      .add_bool("test_after_fit", false, "after fit, test the best weights in the same process")
      .add_bool("export", false, "after fit, write the best weights as checkpoints/best.torchscript.pt "
                "(the torchscript model: Python loads it with torch.jit.load)")
      .add_string("ckpt_path", "",
                  "weights for validate/test: best, last (newest run of this name) or a file")
      .add_int("accumulate_grad_batches", 1,
               "micro-batches per optimizer step; gradients are averaged across ranks only on the last", 1)
      .add_float("gradient_clip_val", 0.0, "clip the averaged gradients at this value (0: off)", 0.0)
      .add_string("gradient_clip_algorithm", "norm", "norm: total L2 norm; value: each element",
                  {"norm", "value"})
      .add_string("precision", "32", "32, bf16-mixed (autocast, CPU and CUDA) or 16-mixed (CUDA "
                  "autocast with a gradient scaler)", {"32", "bf16-mixed", "16-mixed"})
      .add_int("early_stopping_patience", 0,
               "stop after this many validations without improvement of `monitor` (0: off)", 0)
      .add_string("monitor", "score", "validation value that picks best.pt and drives early stopping")
      .add_string("monitor_mode", "auto", "auto: min for names ending in loss, else max",
                  {"auto", "max", "min"});
}

const char* to_string(Precision precision) {
  switch (precision) {
    case Precision::Full32: return "32";
    case Precision::Bf16Mixed: return "bf16-mixed";
    case Precision::Fp16Mixed: return "16-mixed";
  }
  return "?";
}

TrainerOptions TrainerOptions::from(const Config& config) {
  TrainerOptions o;
  o.name = config.get_string("name");
  o.device = config.get_string("device");
  o.max_epochs = config.get_int("max_epochs");
  o.max_steps = config.get_int("max_steps");
  o.verbose = config.get_bool("verbose");
  o.log_every_n_steps = config.get_int("log_every_n_steps");
  o.seed = static_cast<uint64_t>(config.get_int("seed"));
  o.dist_backend = config.get_string("dist_backend");
  o.dist_timeout_s = config.get_int("dist_timeout_s");
  o.hang_timeout_s = config.get_float("hang_timeout_s");
  o.bucket_cap_mb = config.get_float("bucket_cap_mb");
  o.resume = config.get_string("resume");
  o.checkpoint_every_n_steps = config.get_int("checkpoint_every_n_steps");
  o.requeue_signal = config.get_string("requeue_signal");
  o.max_requeues = config.get_int("max_requeues");
  o.test_after_fit = config.get_bool("test_after_fit");
  o.export_model = config.get_bool("export");
  o.ckpt_path = config.get_string("ckpt_path");
  o.accumulate_grad_batches = config.get_int("accumulate_grad_batches");
  o.gradient_clip_val = config.get_float("gradient_clip_val");
  o.gradient_clip_algorithm =
      config.get_string("gradient_clip_algorithm") == "value" ? ClipAlgorithm::Value : ClipAlgorithm::Norm;
  const auto precision = config.get_string("precision");
  o.precision = precision == "bf16-mixed" ? Precision::Bf16Mixed
                : precision == "16-mixed" ? Precision::Fp16Mixed
                                          : Precision::Full32;
  o.early_stopping_patience = config.get_int("early_stopping_patience");
  o.monitor = config.get_string("monitor");
  if (o.monitor.empty()) throw ConfigError("trainer.monitor is empty: name a tracked value, e.g. score or loss");
  o.monitor_maximize = monitor_maximizes(o.monitor, config.get_string("monitor_mode"));
  return o;
}

}  // namespace bolt
