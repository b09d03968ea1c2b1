// Shared by the elementwise shaders. Every tensor view they touch is `rows` runs of `rowLength`
// contiguous floats, run r starting at element offset + r * stride: a whole tensor is one run,
// and a channel range of an NCHW tensor is one run per sample.
//
// Dispatch: x covers a row in blocks of ITEMS * workgroup-size items, y walks the rows; both
// loop when the grid is smaller than the work. An item is a vec4 when VEC4 is set (the host sets
// it only when every offset, stride and the row length are multiples of 4), else a float.
// Specialization: 0 = workgroup size x, 1 = ITEMS, 2 = VEC4.

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ITEMS = 4;
layout(constant_id = 2) const bool VEC4 = false;

// Items per row and the item index of element `offset`.
uint rowItems(uint rowLength) { return VEC4 ? rowLength / 4 : rowLength; }
uint itemIndex(uint offset) { return VEC4 ? offset / 4 : offset; }

// Calls BODY(row, item) for every item this invocation owns.
#define FOR_EACH_ITEM(rows, rowLength, BODY)                                                   \
    for (uint row_ = gl_WorkGroupID.y; row_ < (rows); row_ += gl_NumWorkGroups.y) {            \
        const uint items_ = rowItems(rowLength);                                               \
        const uint span_ = ITEMS * gl_WorkGroupSize.x;                                         \
        for (uint base_ = gl_WorkGroupID.x * span_; base_ < items_; base_ += gl_NumWorkGroups.x * span_) { \
            for (uint k_ = 0; k_ < ITEMS; ++k_) {                                              \
                const uint item_ = base_ + k_ * gl_WorkGroupSize.x + gl_LocalInvocationID.x;   \
                if (item_ < items_) BODY(row_, item_);                                         \
            }                                                                                  \
        }                                                                                      \
    }
