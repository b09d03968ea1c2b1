#version 450
// Convolution backward to the input (conv2d_grad_input.comp) with each channel's packed weights
// loaded once a subgroup and handed round by subgroupShuffle: for devices with subgroup shuffles.
// See conv2d_tile.glsl (SUBGROUP_LOADS).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define GRAD_INPUT
#define SUBGROUP_LOADS
#include "conv2d_tile.glsl"
