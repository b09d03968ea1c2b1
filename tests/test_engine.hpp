// Shared by the tests: one engine per test process on the default (or REVNET_DEVICE) device,
// always with the validation layer on; test_main.cpp fails the run on any validation message.
#pragma once

#include "revnet/engine/engine.hpp"

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace revnet::test {

Engine& engine();
// Messages reported by every engine the tests made, including the shared one.
std::uint64_t validationMessages();
void countValidation(const Engine& engine);  // call before destroying an engine a test made
// Destroys the shared engine while the driver is whole: at exit, a driver's own statics
// (SwiftShader's threads) may be gone before ours, and tearing down after them crashes.
void releaseEngine();
// A test program's exit code: Catch's result, failed if the validation layer reported anything
// to any engine of the process (after releasing the shared one).
int verdict(int catchResult);

EngineOptions options();  // the environment's options with validation forced on

std::vector<float> randomValues(std::size_t count, std::mt19937& random, float low = -1.0f, float high = 1.0f);
// Seeded differently every run unless REVNET_TEST_SEED is set; the seed goes to stderr, which
// ctest shows when a test fails.
std::mt19937 freshRandom();

// `name` in a scratch directory of this test process: the system's temporary directory, then
// revnet-GROUP-PID (created).
std::filesystem::path scratch(const std::string& group, const std::string& name);

}  // namespace revnet::test
