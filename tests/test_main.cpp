// Runs the Catch2 session, then fails the process if the Vulkan validation layer reported
// anything during it: a validation message is a test failure even when every assertion passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/test_engine.hpp"

#include <cstdio>

int main(int argc, char** argv) {
    int result = Catch::Session().run(argc, argv);
    revnet::test::releaseEngine();
    if (const auto messages = revnet::test::validationMessages()) {
        std::fprintf(stderr, "FAILED: the Vulkan validation layer reported %llu message(s) (printed above)\n",
                     static_cast<unsigned long long>(messages));
        if (result == 0) result = 1;
    }
    return result;
}
