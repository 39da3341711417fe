#pragma once
// The one place every collective of a rank passes: a Communicator that records each one
// (sequence number, purpose, bytes, start and end) in the rank's ActivityLog and marks the
// rank as waiting while it blocks, then forwards to the real backend. The hang watchdog and
// the failure records read what it wrote.
#include <memory>

#include "../diagnosis/ActivityLog.h"
#include "Communicator.h"

namespace bolt::dist {

std::unique_ptr<Communicator> make_recording_communicator(std::unique_ptr<Communicator> inner,
                                                          diagnosis::ActivityLog& log);

}  // namespace bolt::dist
