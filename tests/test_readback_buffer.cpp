// A readback buffer: after each replay of a recording that ends with its copy, the host reads what
// the source held at that point, not a stale or partial copy.
#include "engine/readback_buffer.hpp"
#include "revnet/kernels/elementwise.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

using namespace revnet;

TEST_CASE("a readback buffer hands back what each replay left in its source", "[engine]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    const Shape s{1, 1, 1, 7};
    Tensor input = e.tensor(s, Category::Other, "input"), source = e.tensor(s, Category::Other, "source");
    const uint64_t stagingBefore = e.memory().ledger().current(Category::Staging);
    ReadbackBuffer readback(e, source, "test readback");
    CHECK(e.memory().ledger().current(Category::Staging) - stagingBefore ==
          ReadbackBuffer::plannedBytes(e.memory(), source.bytes()));

    Recorder recorder(e.device());
    kernels::add({e.pipelines(), recorder}, input.view(), input.view(), source.view());  // source = 2 input
    readback.recordCopy(recorder);
    for (int replay = 0; replay < 3; ++replay) {
        const auto values = test::randomValues(s.elements(), random);
        e.upload(input, values);
        recorder.run();
        std::vector<float> doubled;
        for (float v : values) doubled.push_back(2 * v);
        CHECK(readback.read() == doubled);
    }
}
