#include "revnet/engine/device_info.hpp"
#include "tests/test_engine.hpp"

#include <catch2/catch.hpp>

using namespace revnet;

namespace {
DeviceInfo fake(uint32_t index, const char* name, VkPhysicalDeviceType type, uint32_t api = VK_API_VERSION_1_3) {
    DeviceInfo d;
    d.index = index;
    d.name = name;
    d.type = type;
    d.apiVersion = api;
    return d;
}
}  // namespace

TEST_CASE("the default device prefers discrete, integrated, virtual, then CPU", "[device]") {
    const std::vector<DeviceInfo> devices = {
        fake(0, "llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU),
        fake(1, "Intel(R) Iris(R) Xe Graphics", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
        fake(2, "AMD Radeon RX 7600", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
        fake(3, "Old GPU", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, VK_API_VERSION_1_0),
    };
    CHECK(selectDevice(devices, "") == 2);
    CHECK(selectDevice({devices[0], devices[1]}, "") == 1);
    CHECK(selectDevice({devices[0]}, "") == 0);
    CHECK(selectDevice({devices[0], devices[3]}, "") == 0);  // Vulkan 1.0 is never chosen
}

TEST_CASE("processes on one machine take its GPUs of the preferred type in turn, and share a CPU device", "[device]") {
    const std::vector<DeviceInfo> devices = {
        fake(0, "llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU),
        fake(1, "NVIDIA GeForce RTX 4090", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
        fake(2, "Intel(R) UHD Graphics 770", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
        fake(3, "Old GPU", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, VK_API_VERSION_1_0),
        fake(4, "NVIDIA GeForce RTX 4090", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
    };
    CHECK(selectDevice(devices, "", 0) == 1);
    CHECK(selectDevice(devices, "", 1) == 4);  // the old one is skipped; the integrated GPU is not of the type
    CHECK(selectDevice(devices, "", 2) == 1);
    CHECK(selectDevice(devices, "", 5) == 4);
    CHECK(selectDevice(devices, "2", 1) == 2);  // a selector wins
    const std::vector<DeviceInfo> cpus = {fake(0, "llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU),
                                          fake(1, "SwiftShader Device (LLVM 10.0.0)", VK_PHYSICAL_DEVICE_TYPE_CPU)};
    for (uint32_t slot : {0u, 1u, 2u, 7u}) CHECK(selectDevice(cpus, "", slot) == 0);
}

TEST_CASE("a device is chosen by index or by part of its name", "[device]") {
    const std::vector<DeviceInfo> devices = {
        fake(0, "llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU),
        fake(1, "AMD Radeon RX 7600", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
        fake(2, "Old GPU", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, VK_API_VERSION_1_0),
    };
    CHECK(selectDevice(devices, "0") == 0);
    CHECK(selectDevice(devices, "1") == 1);
    CHECK(selectDevice(devices, "LLVMPIPE") == 0);
    CHECK(selectDevice(devices, "radeon") == 1);
    CHECK_THROWS_WITH(selectDevice(devices, "7"), Catch::Contains("no device with index 7") && Catch::Contains("llvmpipe"));
    CHECK_THROWS_WITH(selectDevice(devices, "nvidia"), Catch::Contains("no device whose name contains 'nvidia'"));
    CHECK_THROWS_WITH(selectDevice(devices, "old"), Catch::Contains("needs 1.1"));
    CHECK_THROWS_WITH(selectDevice({}, ""), Catch::Contains("no Vulkan device found"));
}

TEST_CASE("the real devices are listed with the limits the engine relies on", "[device]") {
    Engine& e = test::engine();
    const auto devices = enumerateDevices(e.instance().handle());
    REQUIRE_FALSE(devices.empty());
    const DeviceInfo& d = e.info();
    CHECK(d.usable());
    CHECK(d.subgroupSize > 0);
    CHECK(d.limits.maxStorageBufferRange >= (1u << 27) - 1);  // Vulkan guarantees 2^27 - 1
    CHECK(d.maxMemoryAllocationSize > 0);
    CHECK_FALSE(d.memory.heaps.empty());
    // The same device is found again by its index and by its own name.
    CHECK(selectDevice(devices, std::to_string(d.index)) == d.index);
    CHECK(selectDevice(devices, d.name) == d.index);
    const std::string text = describeDevice(d);
    CHECK(text.find("maxStorageBufferRange") != std::string::npos);
    CHECK(text.find("subgroup size") != std::string::npos);
}

TEST_CASE("REVNET_LIMITS lowers the limits the engine reads, never raises them", "[device][portability]") {
    Engine& e = test::engine();
    DeviceInfo d = e.info();
    const DeviceInfo original = d;
    LimitOverrides::parse("maxTexelBufferElements=65536,maxStorageBufferRange=0x100000,maxComputeWorkGroupCount=1000000000000")
        .applyTo(d);
    CHECK(d.limits.maxTexelBufferElements == std::min<uint32_t>(65536, original.limits.maxTexelBufferElements));
    CHECK(d.limits.maxStorageBufferRange == (1u << 20));
    for (int axis = 0; axis < 3; ++axis)  // a value above the device's leaves it as it is
        CHECK(d.limits.maxComputeWorkGroupCount[axis] == original.limits.maxComputeWorkGroupCount[axis]);
    CHECK(d.limitsLowered.find("maxTexelBufferElements=65536") != std::string::npos);
    CHECK(describeDevice(d).find("limits lowered by") != std::string::npos);

    DeviceInfo m = original;
    LimitOverrides::parse("minimum").applyTo(m);
    CHECK(m.limits.maxComputeWorkGroupInvocations <= 128);
    CHECK(m.limits.maxComputeWorkGroupSize[0] <= 128);
    CHECK(m.limits.maxComputeWorkGroupSize[2] <= 64);
    CHECK(m.limits.maxComputeSharedMemorySize <= 16384);
    CHECK(m.limits.maxTexelBufferElements <= 65536);
    CHECK(m.limits.maxStorageBufferRange <= (1u << 27));
    CHECK(m.limits.maxPushConstantsSize <= 128);
    CHECK(m.maxMemoryAllocationSize <= (VkDeviceSize{1} << 30));
    CHECK(m.subgroupOperations == (original.subgroupOperations & VK_SUBGROUP_FEATURE_BASIC_BIT));

    // A mask: the bits given are kept where the device has them, the others cleared.
    DeviceInfo s = original;
    s.subgroupOperations = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_VOTE_BIT;
    LimitOverrides::parse("subgroupSupportedOperations=" + std::to_string(VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_BALLOT_BIT))
        .applyTo(s);
    CHECK(s.subgroupOperations == VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
    CHECK(describeDevice(s).find("subgroup shuffles           yes") != std::string::npos);

    CHECK_THROWS_WITH(LimitOverrides::parse("maxTexels=5"), Catch::Contains("'maxTexels=5'") && Catch::Contains("maxTexelBufferElements"));
    CHECK_THROWS_WITH(LimitOverrides::parse("maxStorageBufferRange=12MiB"), Catch::Contains("not a whole number"));
    CHECK_THROWS_WITH(LimitOverrides::parse("maxStorageBufferRange=-1"), Catch::Contains("not a whole number"));
    CHECK(LimitOverrides::parse("").empty());
}

TEST_CASE("the default budget is nine tenths of the tensors' heap", "[device][memory]") {
    Engine& e = test::engine();
    const DeviceInfo& d = e.info();
    const uint32_t type = e.memory().choice(MemoryUse::Tensors).candidates.front();
    const uint32_t heap = d.memory.types[type].heap;
    const VkDeviceSize available = d.heapBudgets.empty() ? d.memory.heaps[heap].size : d.heapBudgets[heap];
    CHECK(defaultBudget(d) == available - available / 10);
    EngineOptions o = test::options();
    o.budget.reset();
    Engine fresh(o);
    CHECK(fresh.memory().ledger().budget() == defaultBudget(fresh.info()));
}
