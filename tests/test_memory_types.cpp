// The memory-type chooser on 22 recorded memory tables of real devices (tests/data/
// gpu-memory-tables.json: NVIDIA with and without ReBAR, AMD RADV and proprietary, discrete and
// APU, Intel iGPU and Arc, Apple through MoltenVK, lavapipe). The expected types are the ones
// the reference chooser in the project's notes on real drivers picks, written down before this
// chooser existed, plus rules every table must obey.
#include "revnet/engine/memory_types.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

using namespace revnet;

namespace {

struct Table {
    std::string name, deviceClass;
    std::optional<bool> rebar;
    MemoryLayout layout;
};

std::vector<Table> recordedTables() {
    std::ifstream file(REVNET_TEST_DATA_DIR "/gpu-memory-tables.json");
    REQUIRE(file);
    const auto json = nlohmann::json::parse(file);
    std::vector<Table> tables;
    for (const auto& t : json.at("tables")) {
        Table table;
        table.name = t.at("name");
        table.deviceClass = t.at("device_class");
        if (t.at("rebar").is_boolean()) table.rebar = t.at("rebar").get<bool>();
        for (const auto& h : t.at("heaps")) {
            VkMemoryHeapFlags flags = 0;
            for (const auto& f : h.at("flags"))
                if (f == "DEVICE_LOCAL") flags |= VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
            table.layout.heaps.push_back({h.at("size").get<VkDeviceSize>(), flags});
        }
        for (const auto& ty : t.at("types")) table.layout.types.push_back({ty.at("bits").get<uint32_t>(), ty.at("heap").get<uint32_t>()});
        tables.push_back(std::move(table));
    }
    return tables;
}

struct Expected {
    uint32_t tensors, upload, readback;
};

// From the reference chooser's table (type index for tensors / upload / readback), keyed by
// the start of the recorded table's name.
const std::map<std::string, Expected> kExpected = {
    {"NVIDIA GeForce GTX 1080", {7, 8, 9}},      {"NVIDIA GeForce RTX 4070", {1, 2, 3}},
    {"NVIDIA GeForce RTX 2080 Ti", {7, 9, 10}},  {"NVIDIA GeForce RTX 3060 Ti", {1, 3, 4}},
    {"NVIDIA GeForce RTX 2050", {1, 3, 4}},      {"NVIDIA GeForce GTX 1660", {1, 2, 3}},
    {"AMD Radeon RX 470", {0, 2, 5}},            {"AMD Radeon RX 580", {0, 2, 5}},
    {"AMD RDNA2/RDNA3 8 GiB card on RADV, 256", {0, 2, 5}},
    {"AMD RDNA2/RDNA3 8 GiB card on RADV, Resizable", {0, 2, 5}},
    {"AMD Radeon RX 6600", {0, 1, 3}},           {"AMD Radeon RX 6650 XT", {0, 1, 3}},
    {"AMD Radeon Graphics (Renoir APU)", {0, 2, 5}},
    {"AMD Radeon(TM) Graphics (Ryzen APU), AMD", {0, 1, 3}},
    {"AMD Radeon(TM) Graphics (Ryzen APU, 256", {0, 1, 3}},
    {"Intel Graphics (ADL GT2", {0, 1, 2}},      {"Intel Xe Graphics (TGL GT2)", {0, 0, 0}},
    {"Intel Arc A-series (DG2) on ANV/i915, small", {0, 1, 1}},
    {"Intel Arc A-series (DG2) on ANV, Resizable", {0, 1, 1}},
    {"Apple M2", {0, 1, 1}},                     {"Apple M3 Max", {0, 1, 1}},
    {"llvmpipe/lavapipe", {0, 0, 0}},
};

const Expected& expectedFor(const std::string& name) {
    for (const auto& [prefix, expected] : kExpected)
        if (name.rfind(prefix, 0) == 0) return expected;
    FAIL("no expectation for the recorded table " << name);
    throw;
}

constexpr uint32_t kAllTypes = ~0u;
constexpr VkMemoryPropertyFlags kAmdOnly = VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD;

}  // namespace

TEST_CASE("memory types: the reference choice on every recorded device", "[memory][portability]") {
    const auto tables = recordedTables();
    REQUIRE(tables.size() == 22);
    for (const auto& table : tables) {
        INFO(table.name);
        const Expected& expected = expectedFor(table.name);
        CHECK(chooseMemoryTypes(table.layout, kAllTypes, MemoryUse::Tensors).candidates.at(0) == expected.tensors);
        CHECK(chooseMemoryTypes(table.layout, kAllTypes, MemoryUse::Upload).candidates.at(0) == expected.upload);
        CHECK(chooseMemoryTypes(table.layout, kAllTypes, MemoryUse::Readback).candidates.at(0) == expected.readback);
    }
}

TEST_CASE("memory types: tensors never in a BAR window, never in AMD's uncached types", "[memory][portability]") {
    for (const auto& table : recordedTables()) {
        INFO(table.name);
        const MemoryLayout& layout = table.layout;
        const int largest = layout.largestDeviceLocalHeap();
        REQUIRE(largest >= 0);
        for (MemoryUse use : {MemoryUse::Tensors, MemoryUse::Upload, MemoryUse::Readback}) {
            const auto choice = chooseMemoryTypes(layout, kAllTypes, use);
            REQUIRE(!choice.candidates.empty());
            for (uint32_t t : choice.candidates) CHECK((layout.types[t].flags & kAmdOnly) == 0);
        }
        const auto tensors = chooseMemoryTypes(layout, kAllTypes, MemoryUse::Tensors).candidates;
        const auto& first = layout.types[tensors[0]];
        CHECK((first.flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT));
        CHECK(static_cast<int>(first.heap) == largest);
        for (uint32_t t : tensors) {
            const auto& type = layout.types[t];
            const bool mappableLocal = (type.flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) &&
                                       (type.flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
            if (mappableLocal) CHECK(layout.heaps[type.heap].size >= layout.heaps[largest].size);
        }
        // Without ReBAR a discrete GPU's device-local host-visible memory is the BAR window:
        // tensors go to plain device-local memory and the engine copies through staging.
        if (table.rebar == false) {
            CHECK((first.flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0);
            CHECK(layout.heaps[first.heap].size > (VkDeviceSize{256} << 20));
        }
        // Readback reads host-cached memory wherever the device has any.
        const bool anyCached = std::any_of(layout.types.begin(), layout.types.end(), [](const MemoryTypeDesc& t) {
            return (t.flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) && !(t.flags & kAmdOnly);
        });
        const auto readback = chooseMemoryTypes(layout, kAllTypes, MemoryUse::Readback).candidates[0];
        CHECK(((layout.types[readback].flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) != 0) == anyCached);
    }
}

TEST_CASE("memory types: a buffer's allowed types are respected", "[memory][portability]") {
    for (const auto& table : recordedTables()) {
        INFO(table.name);
        const auto all = chooseMemoryTypes(table.layout, kAllTypes, MemoryUse::Tensors).candidates;
        // Forbid the best type: the next candidate moves up, and nothing forbidden is offered.
        const uint32_t allowed = kAllTypes & ~(1u << all[0]);
        const auto rest = chooseMemoryTypes(table.layout, allowed, MemoryUse::Tensors).candidates;
        CHECK(std::find(rest.begin(), rest.end(), all[0]) == rest.end());
        CHECK(rest == std::vector<uint32_t>(all.begin() + 1, all.end()));
    }
}

TEST_CASE("memory types: an allocation that fails falls back to the next candidate", "[memory][portability]") {
    const auto tables = recordedTables();
    // The AMD APU whose device-local heaps are 256 MiB carve-outs: past them, system memory.
    const auto apu = std::find_if(tables.begin(), tables.end(), [](const Table& t) {
        return t.name.rfind("AMD Radeon(TM) Graphics (Ryzen APU, 256", 0) == 0;
    });
    REQUIRE(apu != tables.end());
    const MemoryLayout& layout = apu->layout;
    const auto candidates = chooseMemoryTypes(layout, kAllTypes, MemoryUse::Tensors).candidates;
    std::vector<uint32_t> tried;
    // A 1 GiB block cannot come from a 256 MiB heap at all: those are skipped without a call.
    const int type = allocateFromCandidates(layout, candidates, VkDeviceSize{1} << 30, [&](uint32_t t) {
        tried.push_back(t);
        return true;
    });
    REQUIRE(type >= 0);
    CHECK(layout.heaps[layout.types[type].heap].size >= (VkDeviceSize{1} << 30));
    CHECK((layout.types[type].flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT));
    CHECK(tried == std::vector<uint32_t>{uint32_t(type)});

    // Out of memory in the first two candidates: the third is used, in order.
    tried.clear();
    const int third = allocateFromCandidates(layout, candidates, 1 << 20, [&](uint32_t t) {
        tried.push_back(t);
        return tried.size() == 3;
    });
    CHECK(tried == std::vector<uint32_t>(candidates.begin(), candidates.begin() + 3));
    CHECK(third == static_cast<int>(candidates[2]));
    CHECK(allocateFromCandidates(layout, candidates, 1 << 20, [](uint32_t) { return false; }) == -1);
}

TEST_CASE("memory types: the explanation names the type and why", "[memory][portability]") {
    const auto tables = recordedTables();
    const Table& gtx1080 = tables.front();
    REQUIRE(gtx1080.name.rfind("NVIDIA GeForce GTX 1080", 0) == 0);
    const auto tensors = chooseMemoryTypes(gtx1080.layout, kAllTypes, MemoryUse::Tensors);
    CHECK_THAT(tensors.why, Catch::StartsWith("type 7 (DEVICE_LOCAL) on heap 0 (8192 MiB)"));
    CHECK(memoryFlagsText(7) == "DEVICE_LOCAL|HOST_VISIBLE|HOST_COHERENT");
    CHECK(memoryFlagsText(0) == "none");
}
