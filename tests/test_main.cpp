// Runs the Catch2 session, then fails the process if the Vulkan validation layer reported
// anything during it: a validation message is a test failure even when every assertion passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/test_engine.hpp"

int main(int argc, char** argv) { return revnet::test::verdict(Catch::Session().run(argc, argv)); }
