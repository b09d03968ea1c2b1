#include "revnet/engine/block_suballocator.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <vector>

using revnet::BlockSuballocator;

TEST_CASE("suballocator places aligned ranges first-fit and merges freed neighbours", "[memory]") {
    BlockSuballocator block(1024);
    auto a = block.allocate(64, 16), b = block.allocate(128, 16), c = block.allocate(64, 16);
    REQUIRE(a == 0u);
    REQUIRE(b == 64u);
    REQUIRE(c == 192u);
    REQUIRE(block.used() == 256);

    block.release(*b, 128);
    REQUIRE(block.allocate(256, 16) == 256u);  // the 128-byte hole is too small
    REQUIRE(block.allocate(128, 16) == 64u);   // and is reused when it fits
    block.release(64, 128);
    block.release(*a, 64);
    block.release(*c, 64);
    block.release(256, 256);
    REQUIRE(block.empty());
    REQUIRE(block.allocate(1024, 16) == 0u);  // everything merged back into one range
    REQUIRE_FALSE(block.allocate(16, 16).has_value());
}

TEST_CASE("suballocator honours alignment and refuses double release", "[memory]") {
    BlockSuballocator block(4096);
    REQUIRE(block.allocate(48, 16) == 0u);
    REQUIRE(block.allocate(256, 256) == 256u);
    REQUIRE(block.allocate(16, 16) == 48u);  // the gap before the aligned range is still usable
    REQUIRE_THROWS_AS(block.release(0, 4096), std::logic_error);
    block.release(256, 256);
    REQUIRE_THROWS_AS(block.release(256, 256), std::logic_error);
}

TEST_CASE("suballocator survives random allocate/free patterns without overlap", "[memory]") {
    std::mt19937 random(7);
    BlockSuballocator block(1 << 16);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> live;
    for (int step = 0; step < 2000; ++step) {
        if (live.empty() || random() % 3) {
            const std::uint64_t size = 16 * (1 + random() % 64);
            if (auto offset = block.allocate(size, 16)) {
                for (const auto& [o, s] : live) REQUIRE((*offset + size <= o || o + s <= *offset));
                REQUIRE(*offset % 16 == 0);
                live.emplace_back(*offset, size);
            }
        } else {
            const std::size_t i = random() % live.size();
            block.release(live[i].first, live[i].second);
            live.erase(live.begin() + i);
        }
        std::uint64_t used = 0;
        for (const auto& l : live) used += l.second;
        REQUIRE(block.used() == used);
    }
}
