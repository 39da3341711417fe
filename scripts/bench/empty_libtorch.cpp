// The bare start-up of a libtorch process: load libtorch, make one tensor, exit. Bolt's
// launch → first step is measured against it (scripts/bench/ddp.sh).
#include <ATen/ATen.h>

int main() { return at::ones({1}).item<int>() - 1; }
