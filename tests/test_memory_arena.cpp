#include "revnet/kernels/elementwise.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

using namespace revnet;

TEST_CASE("the arena charges every tensor to its category, to the byte", "[memory]") {
    Engine& e = test::engine();
    MemoryArena& arena = e.memory();
    const MemoryLedger& ledger = arena.ledger();
    const auto base = ledger.total();
    const auto charged = [&](std::uint64_t floats) { return arena.chargedSize(floats * 4); };
    {
        Tensor w = e.tensor({1, 1, 1, 1001}, Category::Parameters, "w");
        Tensor g = e.tensor({1, 1, 1, 1001}, Category::Gradients, "g");
        Tensor a = e.tensor({3, 5, 7, 9}, Category::Activations, "a");
        CHECK(ledger.current(Category::Parameters) == charged(1001));
        CHECK(ledger.current(Category::Gradients) == charged(1001));
        CHECK(ledger.current(Category::Activations) == charged(945));
        CHECK(ledger.total() == base + 2 * charged(1001) + charged(945));
        {
            Tensor big = e.tensor({1, 1, 1, 4096}, Category::Workspace, "big");
            CHECK(ledger.current(Category::Workspace) == charged(4096));
        }
        CHECK(ledger.current(Category::Workspace) == 0);
        CHECK(ledger.peak(Category::Workspace) >= charged(4096));
        CHECK(ledger.peakTotal() >= base + 2 * charged(1001) + charged(945) + charged(4096));
        CHECK(charged(1001) % arena.alignment() == 0);
        CHECK(charged(1001) >= 4004);
        CHECK(charged(1001) < 4004 + arena.alignment());
    }
    CHECK(ledger.total() == base);
}

TEST_CASE("sub-allocation shares blocks and reuses freed space", "[memory]") {
    EngineOptions o = test::options();
    o.blockSize = 1 << 20;
    Engine e(o);
    {
        std::vector<Tensor> tensors;
        for (int i = 0; i < 16; ++i) tensors.push_back(e.tensor({1, 1, 1, 4096}, Category::Other, "t"));
        CHECK(e.memory().reservedBytes(MemoryUse::Tensors) == (1 << 20));  // 16 x 16 KiB in one block
        tensors.erase(tensors.begin() + 3, tensors.begin() + 9);
        for (int i = 0; i < 6; ++i) tensors.push_back(e.tensor({1, 1, 1, 4096}, Category::Other, "t"));
        CHECK(e.memory().reservedBytes(MemoryUse::Tensors) == (1 << 20));
        Tensor large = e.tensor({1, 1, 1, 1 << 19}, Category::Other, "large");  // 2 MiB: its own block
        CHECK(e.memory().reservedBytes(MemoryUse::Tensors) == (1 << 20) + (2 << 20));
    }
    e.memory().trim();
    CHECK(e.memory().reservedBytes(MemoryUse::Tensors) == 0);
    CHECK(e.memory().ledger().total() == e.transferBytes());
    test::countValidation(e);
}

TEST_CASE("a budget refuses an allocation before touching Vulkan and changes nothing", "[memory]") {
    EngineOptions o = test::options();
    o.forceStaging = false;  // the transfer staging buffer would not fit this budget
    o.budget = 64 * 1024;
    o.poisonTensors = false;
    Engine e(o);
    Tensor a = e.tensor({1, 1, 1, 8192}, Category::Parameters, "weights");  // 32 KiB
    const auto reserved = e.memory().reservedBytes();
    CHECK(reserved <= 64 * 1024);  // blocks are not reserved past the budget
    REQUIRE_THROWS_WITH(e.tensor({4, 3, 32, 32}, Category::Activations, "stage1.x"),
                        Catch::Contains("stage1.x") && Catch::Contains("saved activations") &&
                            Catch::Contains("budget of 0.1 MiB (65536 bytes)"));
    CHECK(e.memory().ledger().total() == 32 * 1024);
    CHECK(e.memory().ledger().peakTotal() == 32 * 1024);
    CHECK(e.memory().ledger().current(Category::Activations) == 0);
    CHECK(e.memory().reservedBytes() == reserved);
    Tensor b = e.tensor({1, 1, 1, 8192}, Category::Activations, "fits");
    CHECK(e.memory().ledger().total() == 64 * 1024);
    test::countValidation(e);
}

TEST_CASE("a tensor past maxStorageBufferRange is made; a sample past it is refused by name", "[memory]") {
    // Kernels bind such a tensor in batch chunks; one sample larger than the range cannot be.
    EngineOptions o = test::options();
    o.limits = LimitOverrides::parse("maxStorageBufferRange=65536");
    Engine e(o);
    {
        Tensor big = e.tensor({3, 1, 64, 128}, Category::Activations, "big");  // 32 KiB a sample
        Recorder fill(e.device());
        kernels::fill({e.pipelines(), fill}, big, 1.0f);
        fill.run();
        CHECK(e.download(big) == std::vector<float>(big.shape().elements(), 1.0f));
        Tensor huge = e.tensor({1, 1, 1, 16385}, Category::Activations, "huge");
        Recorder r(e.device());
        CHECK_THROWS_WITH(kernels::fill({e.pipelines(), r}, huge, 1.0f),
                          Catch::Contains("fill") && Catch::Contains("maxStorageBufferRange"));
    }
    test::countValidation(e);
}

TEST_CASE("upload and download round-trip, directly mapped and through staging", "[memory]") {
    auto random = test::freshRandom();
    for (bool staging : {false, true}) {
        INFO("staging " << staging);
        EngineOptions o = test::options();
        o.forceStaging = staging;
        Engine e(o);
        const uint32_t best = e.memory().choice(MemoryUse::Tensors).candidates.front();
        const bool mappable = e.info().memory.types[best].flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
        CHECK(e.memory().needsStaging() == (staging || !mappable));
        // Past two transfer chunks, and not a whole number of them.
        const uint32_t count = 2 * Engine::kTransferChunk / 4 + 4097;
        const auto values = test::randomValues(count, random);
        Tensor t = e.tensor({1, 1, 1, count}, Category::Other, "t");
        e.upload(t, values);
        CHECK(e.download(t) == values);
        // Only the engine's one transfer buffer, where tensors are not mapped.
        CHECK(e.memory().ledger().current(Category::Staging) == e.transferBytes());
        CHECK((e.transferBytes() > 0) == e.memory().needsStaging());
        CHECK_THROWS_WITH(e.upload(t, std::vector<float>(3)), Catch::Contains("3 values for " + std::to_string(count)));
        test::countValidation(e);
    }
}
