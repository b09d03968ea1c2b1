// An upload ring: each slot's recording copies that slot, and only that slot, into the targets,
// however the recordings are interleaved and whatever the host rewrites in the other slots.
#include "revnet/engine/upload_ring.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

using namespace revnet;

TEST_CASE("an upload ring's recording copies its own slot into the targets", "[engine]") {
    auto random = test::freshRandom();
    Engine& e = test::engine();
    const uint64_t stagingBefore = e.memory().ledger().current(Category::Staging);
    // Odd sizes, so that the second target does not start on a 16-byte boundary of its own.
    Tensor a = e.tensor({1, 1, 1, 37}, Category::Other, "a"), b = e.tensor({1, 1, 1, 5}, Category::Other, "b");
    const uint32_t slots = 3;
    UploadRing ring(e, {&a, &b}, slots, "test ring");
    CHECK(e.memory().ledger().current(Category::Staging) - stagingBefore ==
          UploadRing::plannedBytes(e.memory(), {a.bytes(), b.bytes()}, slots));

    std::vector<std::vector<float>> forA(slots), forB(slots);
    auto write = [&](uint32_t slot) {
        forA[slot] = test::randomValues(37, random);
        forB[slot] = test::randomValues(5, random);
        std::copy(forA[slot].begin(), forA[slot].end(), ring.values<float>(slot, 0).begin());
        std::copy(forB[slot].begin(), forB[slot].end(), ring.values<float>(slot, 1).begin());
        ring.flush(slot);
    };
    std::vector<std::unique_ptr<Recorder>> recordings;
    for (uint32_t slot = 0; slot < slots; ++slot) {
        write(slot);
        recordings.push_back(std::make_unique<Recorder>(e.device()));
        ring.recordCopies(*recordings.back(), slot);
    }
    for (uint32_t slot : {2u, 0u, 1u, 0u, 2u}) {
        INFO("slot " << slot);
        recordings[slot]->submit();
        write((slot + 1) % slots);  // the host fills another slot meanwhile
        recordings[slot]->wait();
        CHECK(e.download(a) == forA[slot]);
        CHECK(e.download(b) == forB[slot]);
    }
}
