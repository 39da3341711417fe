// bolt-launch: turns "where am I" into a launch plan and starts bolt-worker ranks.
#include <iostream>

#include "bolt/Error.h"
#include "bolt/launch/Launcher.h"

int main(int argc, char** argv) {
  try {
    return bolt::launch::run_launcher(argc, argv);
  } catch (const bolt::Error& e) {
    std::cerr << "bolt-launch: error: " << e.what() << std::endl;
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "bolt-launch: error: " << e.what() << std::endl;
    return 1;
  }
}
