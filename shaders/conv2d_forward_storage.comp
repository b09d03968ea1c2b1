#version 450
// Convolution forward reading the input and packed weights through storage buffers: for bindings
// past the device's maxTexelBufferElements. See conv2d_tile.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define STORAGE_LOADS
#include "conv2d_tile.glsl"
