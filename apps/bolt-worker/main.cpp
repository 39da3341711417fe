// bolt-worker: one rank of a Bolt job. See runtime/src/worker/Worker.cpp.
#include <malloc.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <c10/util/Exception.h>

#include "bolt/Error.h"
#include "diagnosis/FailureRecorder.h"
#include "worker/Worker.h"

namespace {
// Leaves at once: unwinding a failed rank through the process group's destructors could
// wait on peers that will never answer. The run directory gets errors/rank-<r>.json.
[[noreturn]] void fail(const std::exception& e, const std::string& what, int code) {
  bolt::diagnosis::begin_leaving(e, what, code);
  std::cout.flush();
  std::cerr << "bolt-worker: error: " << what << std::endl;
  std::_Exit(code);
}
}  // namespace

int main(int argc, char** argv) {
  // libtorch frees and re-allocates MB-sized activations every step. With glibc's dynamic
  // thresholds these can land in fresh mmap()s or a trimmed heap, costing page faults on
  // every step (seen: 7x the faults, 3x the time of an evaluation). Fixed thresholds keep
  // them in the heap.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    return bolt::run_worker(args);
  } catch (const bolt::Error& e) {
    fail(e, e.what(), e.exit_code());
  } catch (const c10::Error& e) {
    fail(e, e.what_without_backtrace(), 1);
  } catch (const std::exception& e) {
    fail(e, e.what(), 1);
  }
}
