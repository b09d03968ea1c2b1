// Which family of kernel shapes suits a device. CPU devices (lavapipe) are bound by loads and
// punish many invocations per workgroup; GPUs want many small invocations. Kernels whose best
// shape differs take a Variant; Auto picks from the device's type.
#pragma once

#include "revnet/engine/device_info.hpp"

namespace revnet::kernels {

enum class Variant { Auto, Cpu, Gpu };

inline Variant resolve(Variant variant, const DeviceInfo& device) {
    if (variant != Variant::Auto) return variant;
    return device.kernelShapes == VK_PHYSICAL_DEVICE_TYPE_CPU ? Variant::Cpu : Variant::Gpu;
}

}  // namespace revnet::kernels
