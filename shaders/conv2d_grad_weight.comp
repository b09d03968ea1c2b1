#version 450
// Convolution backward to the weights, reading x and dy through texel buffers. See
// conv2d_grad_weight.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#include "conv2d_grad_weight.glsl"
