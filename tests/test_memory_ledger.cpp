#include "revnet/engine/memory_ledger.hpp"

#include <catch2/catch.hpp>

using namespace revnet;

TEST_CASE("ledger tracks current and peak bytes per category and in total", "[memory]") {
    MemoryLedger ledger;
    ledger.charge(Category::Parameters, 1000, "w");
    ledger.charge(Category::Activations, 500, "a");
    ledger.charge(Category::Activations, 300, "b");
    ledger.release(Category::Activations, 500);
    ledger.charge(Category::Workspace, 100, "ws");
    REQUIRE(ledger.current(Category::Parameters) == 1000);
    REQUIRE(ledger.current(Category::Activations) == 300);
    REQUIRE(ledger.peak(Category::Activations) == 800);
    REQUIRE(ledger.total() == 1400);
    REQUIRE(ledger.peakTotal() == 1800);
    ledger.resetPeaks();
    REQUIRE(ledger.peakTotal() == 1400);
    REQUIRE(ledger.peak(Category::Activations) == 300);
    REQUIRE_THROWS_AS(ledger.release(Category::Gradients, 1), std::logic_error);
}

TEST_CASE("a refused charge leaves the ledger unchanged and says why", "[memory]") {
    MemoryLedger ledger;
    ledger.setBudget(1000);
    ledger.charge(Category::Parameters, 600, "weights");
    try {
        ledger.charge(Category::Activations, 401, "tensor stage2.x 128x64x16x16");
        FAIL("the charge should have been refused");
    } catch (const BudgetExceeded& e) {
        const std::string text = e.what();
        CHECK(text.find("tensor stage2.x 128x64x16x16") != std::string::npos);
        CHECK(text.find("saved activations") != std::string::npos);
        CHECK(text.find("401 bytes") != std::string::npos);
        CHECK(text.find("600 bytes") != std::string::npos);
        CHECK(text.find("1000 bytes") != std::string::npos);
    }
    REQUIRE(ledger.total() == 600);
    REQUIRE(ledger.peakTotal() == 600);
    REQUIRE(ledger.current(Category::Activations) == 0);
    ledger.charge(Category::Activations, 400, "fits exactly");
    REQUIRE(ledger.total() == 1000);
}
