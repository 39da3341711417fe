// The Fashion-MNIST example plugin: `--plugin fashion_mnist --model fashion_cnn --data fashion_mnist`.
#include "FashionCnn.h"
#include "FashionMnistData.h"
#include "bolt/Plugin.h"

BOLT_PLUGIN("fashion_mnist");
BOLT_REGISTER_MODEL(fashion_mnist::FashionCnn, "fashion_cnn");
BOLT_REGISTER_DATA(fashion_mnist::FashionMnistData, "fashion_mnist");
