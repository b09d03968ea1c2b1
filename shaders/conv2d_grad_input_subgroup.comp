#version 450
// Convolution backward to the input (conv2d_grad_input.comp) for devices with subgroup shuffles:
// each channel's packed weights loaded once a subgroup and handed round, the edges of the dy tiles
// taken from the neighbouring lanes. See conv2d_tile.glsl (SUBGROUP_LOADS).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_shader_subgroup_shuffle_relative : require
#define GRAD_INPUT
#define SUBGROUP_LOADS
#include "conv2d_tile.glsl"
