#include <algorithm>
#include <cmath>
#include <random>
#include <fstream>
#include <unistd.h>
#include "engine/host_exchange.hpp"
#include "revnet/kernels/elementwise.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

using namespace revnet;

TEST_CASE("independent dispatches share no barrier and dependent ones get one", "[commands]") {
    Engine& e = test::engine();
    auto& p = e.pipelines();
    const Shape s{2, 6, 5, 5};
    Tensor x = e.tensor(s, Category::Other, "x"), y = e.tensor(s, Category::Other, "y");
    const auto half = [](const Tensor& t, int i) { return t.view().channels(i * 3, 3); };
    e.upload(x, std::vector<float>(s.elements(), 1.0f));
    e.upload(y, std::vector<float>(s.elements(), 0.0f));

    Recorder r(e.device());
    kernels::fill({p, r}, half(y, 0), 2.0f);
    kernels::fill({p, r}, x.view().batch(1, 1), 1.0f);  // another tensor: independent
    CHECK(r.barriers() == 0);
    kernels::fill({p, r}, half(y, 1), 3.0f);  // interleaved with y1 in memory: ordered after it
    CHECK(r.barriers() == 1);
    kernels::add({p, r}, half(x, 0), half(y, 0), half(x, 0));  // reads y1, writes x: after the fills
    CHECK(r.barriers() == 2);
    kernels::scaleAdd({p, r}, 1.0f, half(x, 0), half(y, 1));   // reads x, writes y2 that the add read
    CHECK(r.barriers() == 3);
    kernels::add({p, r}, half(x, 1), half(y, 0), half(x, 1));  // writes x that the last one read
    CHECK(r.barriers() == 4);
    r.run();
    const auto xs = e.download(x), ys = e.download(y);
    const std::size_t halfSize = 3 * 25;
    for (std::size_t n = 0; n < 2; ++n)
        for (std::size_t i = 0; i < halfSize; ++i) {
            REQUIRE(xs[n * 2 * halfSize + i] == 3.0f);
            REQUIRE(ys[n * 2 * halfSize + halfSize + i] == 6.0f);
            REQUIRE(xs[n * 2 * halfSize + halfSize + i] == 3.0f);
        }
}

TEST_CASE("a recording replays, and long recordings split into several submissions", "[commands]") {
    Engine& e = test::engine();
    auto& p = e.pipelines();
    const Shape s{1, 1, 1, 1003};
    Tensor x = e.tensor(s, Category::Other, "x"), y = e.tensor(s, Category::Other, "y");
    auto random = test::freshRandom();
    const auto xs = test::randomValues(s.elements(), random);
    e.upload(x, xs);
    e.upload(y, std::vector<float>(s.elements(), 0.0f));

    Recorder r(e.device(), RecorderOptions{.profile = true, .maxDispatchesPerSubmit = 2});
    for (int i = 0; i < 5; ++i) kernels::scaleAdd({p, r}, 1.0f, x, y);  // y += x, five times
    CHECK(r.submissionsPerRun() == 3);
    r.run();
    r.run();
    r.run();  // replays: y = 15 x
    const auto ys = e.download(y);
    for (std::size_t i = 0; i < ys.size(); ++i) REQUIRE(ys[i] == Approx(15.0f * xs[i]).margin(1e-5));
    CHECK_THROWS_AS(kernels::fill({p, r}, y, 0.0f), std::logic_error);  // closed after run()

    CHECK(r.timingsAvailable() == (e.device().timestampValidBits() > 0));
    if (r.timingsAvailable()) {
        const auto timings = r.timings();
        REQUIRE(timings.size() == 1);
        CHECK(timings[0].name == "axpby");
        CHECK(timings[0].count == 15);
        CHECK(timings[0].totalMs > 0);
        CHECK(r.timingReport().find("axpby") != std::string::npos);
        CHECK(r.barriers() >= 4);  // profiled dispatches are serialized, dependent or not
    }
}

TEST_CASE("a host step runs between a recording's passes on every replay, seeing what came before", "[commands]") {
    Engine& e = test::engine();
    auto& p = e.pipelines();
    auto random = test::freshRandom();
    const Shape s{1, 1, 1, 1003 + uint32_t(random() % 64)};
    Tensor x = e.tensor(s, Category::Other, "x"), y = e.tensor(s, Category::Other, "y");
    const auto xs = test::randomValues(s.elements(), random);
    e.upload(x, xs);
    e.upload(y, std::vector<float>(s.elements(), 0.0f));
    const HostExchange exchange(e, s.elements() + 5, "exchange");

    // y += x; y doubled on the host; y += x. One dispatch a submission, so that host steps and
    // the splitting of long recordings meet.
    Recorder r(e.device(), RecorderOptions{.profile = true, .maxDispatchesPerSubmit = 1});
    kernels::scaleAdd({p, r}, 1.0f, x, y);
    exchange.recordOut(r, y, 5);
    std::vector<float> seen;
    int steps = 0;
    r.hostStep([&] {
        exchange.beginHostAccess();
        const auto values = exchange.floats(5, s.elements());
        seen.assign(values.begin(), values.end());
        for (float& v : values) v *= 2;
        exchange.endHostAccess();
        ++steps;
    });
    exchange.recordIn(r, 5, y);
    kernels::scaleAdd({p, r}, 1.0f, x, y);
    r.run();  // y: x, then 2x, then 3x
    CHECK(steps == 1);
    auto ys = e.download(y);
    for (std::size_t i = 0; i < ys.size(); ++i) {
        REQUIRE(seen[i] == xs[i]);
        REQUIRE(ys[i] == 2 * xs[i] + xs[i]);
    }
    r.submit();  // halves too: wait() runs the host step and the rest
    r.wait();    // y: 4x, then 8x, then 9x
    CHECK(steps == 2);
    ys = e.download(y);
    for (std::size_t i = 0; i < ys.size(); ++i) REQUIRE(ys[i] == Approx(9 * xs[i]).margin(1e-5));
    if (r.timingsAvailable()) {  // not under REVNET_LIMITS=minimum
        const auto timings = r.timings();
        const auto axpby = std::find_if(timings.begin(), timings.end(), [](const auto& t) { return t.name == "axpby"; });
        REQUIRE(axpby != timings.end());
        CHECK(axpby->count == 4);  // each pass timed once a replay
    }
    CHECK_THROWS_AS(exchange.floats(5, s.elements() + 1), std::out_of_range);
}

TEST_CASE("profiling without timestamps runs and reports them unavailable", "[commands][portability]") {
    EngineOptions o = test::options();
    o.limits = LimitOverrides::parse("timestampValidBits=0");
    Engine e(o);
    {
        Tensor y = e.tensor({1, 1, 1, 64}, Category::Other, "y");
        Recorder r(e.device(), RecorderOptions{.profile = true});
        kernels::fill({e.pipelines(), r}, y, 2.5f);
        r.run();
        CHECK(e.download(y) == std::vector<float>(64, 2.5f));
        CHECK_FALSE(r.timingsAvailable());
        CHECK(r.timings().empty());
        CHECK(r.timingReport().find("unavailable") != std::string::npos);
    }
    test::countValidation(e);
}

TEST_CASE("a dispatch that disagrees with its shader is refused before recording", "[commands]") {
    Engine& e = test::engine();
    const Kernel& fill = e.pipelines().get("fill", {{"WORKGROUP_X", 64}});
    Tensor t = e.tensor({1, 1, 1, 16}, Category::Other, "t");
    Recorder r(e.device());
    struct TooShort {
        uint32_t rows;
    } shortPush{1};
    CHECK_THROWS_WITH(r.dispatch(fill, {t.view()}, shortPush, {1, 1, 1}),
                      Catch::Contains("4 bytes") && Catch::Contains("20"));
    struct Push {
        uint32_t rows, length, offset, stride;
        float value;
    } push{1, 16, 0, 16, 0.0f};
    CHECK_THROWS_WITH(r.dispatch(fill, {t.view(), t.view()}, push, {1, 1, 1}), Catch::Contains("takes 1 buffers"));
    // Same size, scalars of another kind: checked member by member against the shader's block.
    struct ValueAsUint {
        uint32_t rows, length, offset, stride, value;
    } asUint{1, 16, 0, 16, 0};
    CHECK_THROWS_WITH(r.dispatch(fill, {t.view()}, asUint, {1, 1, 1}),
                      Catch::Contains("fill: push constant at byte 16 is a float in the shader, a uint on the host"));
    struct ValueFirst {
        float value;
        uint32_t rows, length, offset, stride;
    } valueFirst{0.0f, 1, 16, 0, 16};
    CHECK_THROWS_WITH(r.dispatch(fill, {t.view()}, valueFirst, {1, 1, 1}),
                      Catch::Contains("push constant at byte 0 is a uint in the shader, a float on the host"));
    struct Nested {
        struct {
            uint32_t rows, length;
        } run;
        uint32_t offset;
        int32_t stride;
        float value;
    } nested{{1, 16}, 0, 16, 0.0f};
    CHECK_THROWS_WITH(r.dispatch(fill, {t.view()}, nested, {1, 1, 1}),
                      Catch::Contains("push constant at byte 12 is a uint in the shader, an int on the host"));
    CHECK_THROWS_WITH(r.dispatch(fill, {t.view()}, push, {0, 1, 1}), Catch::Contains("workgroup count"));
    // A name no shader declares does not compile (cli.misspelt_names); one another shader declares
    // fails here, at first use.
    CHECK_THROWS_WITH(e.pipelines().get("fill", {{"RELU", 1}}),
                      Catch::Contains("shader fill has no specialization constant named 'RELU'"));
    CHECK_THROWS_WITH(e.pipelines().get("fill", {{"WORKGROUP_X", 4096}}), Catch::Contains("workgroup size"));
    CHECK(r.dispatches() == 0);
}

TEST_CASE("pipelines are created once per specialization and the cache survives a restart", "[pipelines]") {
    const auto file = std::filesystem::temp_directory_path() / ("revnet-test-cache-" + std::to_string(::getpid()) + ".bin");
    std::filesystem::remove(file);
    {
        EngineOptions o = test::options();
        o.pipelineCache = file;
        Engine e(o);
        const Kernel& a = e.pipelines().get("copy", {{"WORKGROUP_X", 64}});
        const Kernel& b = e.pipelines().get("copy", {{"WORKGROUP_X", 64}});
        const Kernel& c = e.pipelines().get("copy", {{"WORKGROUP_X", 128}});
        CHECK(&a == &b);
        CHECK(&a != &c);
        CHECK(c.localSize[0] == 128);
        CHECK(e.pipelines().size() == 2);
        e.pipelines().save();
        test::countValidation(e);
    }
    CHECK(std::filesystem::file_size(file) >= sizeof(VkPipelineCacheHeaderVersionOne));
    {
        EngineOptions o = test::options();
        o.pipelineCache = file;
        Engine e(o);  // loads the cache it wrote
        CHECK(e.pipelines().get("copy", {{"WORKGROUP_X", 64}}).pipeline);
        test::countValidation(e);
    }
    {
        std::ofstream(file, std::ios::binary | std::ios::trunc) << "not a pipeline cache";
        EngineOptions o = test::options();
        o.pipelineCache = file;
        Engine e(o);  // a corrupt cache is ignored, not fatal
        CHECK(e.pipelines().get("copy", {{"WORKGROUP_X", 64}}).pipeline);
        test::countValidation(e);
    }
    std::filesystem::remove(file);
}

TEST_CASE("the FMA probe runs every step it counts", "[bench]") {
    // shaders/peak_fma.comp, which `revnet bench` divides counted FLOPs by: each invocation's result
    // is the sum of 32 chains x <- x * scale + k from x = id * 1e-6 + {0..7}. With scale
    // 1 + 2^-8 a step more or less moves it by 0.4%, far past float rounding over 1024 steps.
    Engine& e = test::engine();
    std::mt19937 random = test::freshRandom();
    const uint32_t steps = 4 * std::uniform_int_distribution<uint32_t>(1, 256)(random), invocations = 64;
    Tensor out = e.tensor({1, 1, 1, invocations}, Category::Other, "probe");
    struct Push {
        uint32_t iterations;
        float scale;
    } push{steps, 1.0f + 1.0f / 256};
    Recorder r(e.device());
    r.dispatch(e.pipelines().get("peak_fma", {{"WORKGROUP_X", invocations}}), {out.view()}, push, {1, 1, 1});
    r.run();
    const std::vector<float> result = e.download(out);
    for (uint32_t id = 0; id < invocations; ++id) {
        double sum = 0;
        for (int chain = 0; chain < 8; ++chain) {
            double x = id * 1e-6 + chain;
            for (uint32_t i = 0; i < steps; ++i) x = x * push.scale + 1e-7;
            sum += 4 * x;
        }
        INFO("invocation " << id << ", " << steps << " steps");
        CHECK(std::abs(result[id] - sum) <= 1e-3 * sum);
    }
    test::countValidation(e);
}
