#include "tests/test_engine.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace revnet::test {

namespace {
std::uint64_t& finishedMessages() {
    static std::uint64_t count = 0;
    return count;
}
std::unique_ptr<Engine>& shared() {
    static std::unique_ptr<Engine> engine;
    return engine;
}
}  // namespace

EngineOptions options() {
    EngineOptions o = EngineOptions::fromEnvironment();
    if (o.validation == Validation::Off) o.validation = Validation::On;
    o.pipelineCache.reset();
    o.poisonTensors = true;  // a kernel reading memory nothing wrote fails its test
    return o;
}

Engine& engine() {
    if (!shared()) shared() = std::make_unique<Engine>(options());
    return *shared();
}

void countValidation(const Engine& e) { finishedMessages() += e.instance().validationMessages(); }

int verdict(int catchResult) {
    releaseEngine();
    if (const auto messages = validationMessages()) {
        std::fprintf(stderr, "FAILED: the Vulkan validation layer reported %llu message(s) (printed above)\n",
                     static_cast<unsigned long long>(messages));
        return catchResult == 0 ? 1 : catchResult;
    }
    return catchResult;
}

void releaseEngine() {
    if (!shared()) return;
    countValidation(*shared());
    shared().reset();
}

std::uint64_t validationMessages() {
    return finishedMessages() + (shared() ? shared()->instance().validationMessages() : 0);
}

std::vector<float> randomValues(std::size_t count, std::mt19937& random, float low, float high) {
    std::uniform_real_distribution<float> uniform(low, high);
    std::vector<float> values(count);
    for (auto& v : values) v = uniform(random);
    return values;
}

std::mt19937 freshRandom() {
    const char* fixed = std::getenv("REVNET_TEST_SEED");
    const auto seed = fixed ? static_cast<std::uint32_t>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
    // On stderr, which ctest shows for a failing test: each test case runs in a process of its own.
    std::fprintf(stderr, "random seed %u (REVNET_TEST_SEED=%u repeats it)\n", seed, seed);
    return std::mt19937(seed);
}

std::filesystem::path scratch(const std::string& group, const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("revnet-" + group + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir / name;
}

}  // namespace revnet::test
