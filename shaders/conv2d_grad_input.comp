#version 450
// Convolution backward to the input, dx = conv_transpose(dy, w): the forward's tiles run over dy
// with the weights packed transposed, one dispatch per parity class of dx positions. See
// conv2d_tile.glsl.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
#define GRAD_INPUT
#include "conv2d_tile.glsl"
