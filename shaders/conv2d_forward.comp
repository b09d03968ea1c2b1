#version 450
// Convolution forward, y = conv(x, w), no bias: a register-tiled direct kernel. See
// conv2d_tile.glsl for layout, tiling, dispatch and specialization.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "conv2d_tile.glsl"
