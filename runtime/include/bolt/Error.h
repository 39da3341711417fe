#pragma once
// One exception hierarchy for everything Bolt reports to a user. Each `main` catches
// bolt::Error and prints "<program>: error: <what>" with exit_code().
#include "bolt/Export.h"
#include <stdexcept>
#include <string>

namespace bolt {

class BOLT_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
  // 2 for usage and configuration errors (the user must change the command), 1 otherwise.
  virtual int exit_code() const { return 1; }
};

class BOLT_API UsageError : public Error {
 public:
  using Error::Error;
  static constexpr int kExitCode = 2;
  int exit_code() const override { return kExitCode; }
};

class BOLT_API ConfigError : public UsageError {
 public:
  using UsageError::UsageError;
};

class BOLT_API EnvironmentError : public Error {
 public:
  using Error::Error;
};

class BOLT_API PluginError : public Error {
 public:
  using Error::Error;
};

class BOLT_API DataError : public Error {
 public:
  using Error::Error;
};

class BOLT_API CheckpointError : public Error {
 public:
  using Error::Error;
};

class BOLT_API DistributedError : public Error {
 public:
  using Error::Error;
};

// A collective failed because another rank went away: this rank is a casualty, not the
// cause. Its own exit code lets a supervisor name the rank that failed first.
class BOLT_API PeerFailureError : public DistributedError {
 public:
  using DistributedError::DistributedError;
  static constexpr int kExitCode = 3;
  int exit_code() const override { return kExitCode; }
};

// Not an error: every rank checkpointed at the same step and stopped because the requeue
// signal came (preemption, time limit). EX_TEMPFAIL: run again and it resumes.
inline constexpr int kStoppedForRequeueExitCode = 75;

}  // namespace bolt
