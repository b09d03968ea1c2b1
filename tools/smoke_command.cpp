// `revnet smoke`: proves the engine on the chosen device. Runs every elementwise kernel once on
// random data, checks each result against the same arithmetic on the host, then replays one
// recording to show throughput, and prints the memory ledger.
#include "tools/commands.hpp"

#include "revnet/kernels/elementwise.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>

namespace revnet::cli {

namespace {

struct Check {
    const char* name;
    std::function<void(Recorder&)> record;
    std::function<float(std::size_t)> expected;
};

}  // namespace

int smokeCommand(Arguments& args) {
    if (args.help()) {
        std::printf(
            "usage: revnet smoke [--elements N] [--repeat K] [--profile] [engine options]\n\n"
            "Runs fill, copy, add, subtract, scale-and-add, ReLU forward and backward and the additive\n"
            "coupling on N random floats, checks each against the host, then replays an add K times.\n\n"
            "  --elements N     floats per tensor (default 1048579: not a multiple of 4)\n"
            "  --repeat K       replays for the throughput figure (default 20)\n"
            "  --profile        print per-kernel GPU times from timestamp queries\n%s",
            kEngineOptionsHelp);
        return 0;
    }
    const std::uint64_t elements = args.count("elements", (1u << 20) + 3, std::uint64_t{1} << 32);
    const std::uint64_t repeat = args.count("repeat", 20, 1000000);
    const bool profile = args.flag("profile");
    EngineOptions options = engineOptions(args);
    args.finish();
    if (elements == 0) throw UsageError("--elements must be at least 1");

    Engine engine(options);
    std::printf("device: %s (%s)\n", engine.info().name.c_str(), deviceTypeName(engine.info().type));

    const Shape shape{1, 1, 1, static_cast<uint32_t>(elements)};
    std::mt19937 random(12345);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> a(elements), b(elements);
    for (auto& v : a) v = uniform(random);
    for (auto& v : b) v = uniform(random);

    Tensor ta = engine.tensor(shape, Category::Other, "a");
    Tensor tb = engine.tensor(shape, Category::Other, "b");
    Tensor out = engine.tensor(shape, Category::Workspace, "out");
    auto& p = engine.pipelines();
    const std::vector<Check> checks = {
        {"fill", [&](Recorder& r) { kernels::fill({p, r}, out, 0.5f); }, [&](std::size_t) { return 0.5f; }},
        {"copy", [&](Recorder& r) { kernels::copy({p, r}, ta, out); }, [&](std::size_t i) { return a[i]; }},
        {"add", [&](Recorder& r) { kernels::add({p, r}, ta, tb, out); }, [&](std::size_t i) { return a[i] + b[i]; }},
        {"subtract", [&](Recorder& r) { kernels::subtract({p, r}, ta, tb, out); },
         [&](std::size_t i) { return a[i] - b[i]; }},
        {"scale-and-add",
         [&](Recorder& r) {
             kernels::copy({p, r}, tb, out);
             kernels::scaleAdd({p, r}, 0.25f, ta, out);
         },
         [&](std::size_t i) { return b[i] + 0.25f * a[i]; }},
        {"relu forward", [&](Recorder& r) { kernels::reluForward({p, r}, ta, out); },
         [&](std::size_t i) { return std::max(a[i], 0.0f); }},
        {"relu backward", [&](Recorder& r) { kernels::reluBackward({p, r}, ta, tb, out); },
         [&](std::size_t i) { return a[i] > 0 ? b[i] : 0.0f; }},
        {"coupling forward+inverse",
         [&](Recorder& r) {
             kernels::copy({p, r}, ta, out);
             kernels::couplingForward({p, r}, out, tb);
             kernels::couplingInverse({p, r}, out, tb);
         },
         [&](std::size_t i) { return a[i] + b[i] - b[i]; }},
    };

    engine.upload(ta, a);
    engine.upload(tb, b);
    int failures = 0;
    for (const auto& check : checks) {
        engine.upload(out, std::vector<float>(elements, NAN));
        Recorder recorder(engine.device());
        check.record(recorder);
        recorder.run();
        const auto result = engine.download(out);
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < elements; ++i)
            if (!(std::fabs(result[i] - check.expected(i)) <= 1e-6f * (1 + std::fabs(check.expected(i))))) ++wrong;
        std::printf("  %-26s %s\n", check.name, wrong ? "WRONG" : "ok");
        if (wrong) {
            std::printf("    %zu of %llu elements differ\n", wrong, static_cast<unsigned long long>(elements));
            ++failures;
        }
    }

    Recorder replay(engine.device(), RecorderOptions{profile});
    for (std::uint64_t i = 0; i < 4; ++i) kernels::add({p, replay}, ta, tb, out);
    replay.run();  // warm-up
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < repeat; ++i) replay.run();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double bytes = 4.0 * repeat * 3 * elements * sizeof(float);
    std::printf("add, replayed %llu x 4 dispatches: %.2f GB/s (read 2 + write 1 floats each)\n",
                static_cast<unsigned long long>(repeat), repeat ? bytes / seconds / 1e9 : 0.0);
    if (profile) std::printf("\n%s", replay.timingReport().c_str());
    std::printf("\ndevice memory:\n%s", engine.memory().ledger().report().c_str());
    if (engine.instance().validationMessages())
        std::printf("validation: %llu messages\n", static_cast<unsigned long long>(engine.instance().validationMessages()));
    std::printf("%s\n", failures ? "smoke run FAILED" : "smoke run passed");
    return failures || engine.instance().validationMessages() ? 1 : 0;
}

}  // namespace revnet::cli
