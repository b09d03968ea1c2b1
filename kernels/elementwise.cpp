#include "revnet/kernels/elementwise.hpp"

#include "kernels/dispatch.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace revnet::kernels {

namespace {

constexpr uint32_t kWorkgroupSize = 256;  // lavapipe: 4.4 GB/s on add vs 2.1 at 64 (revnet smoke)

// A view as rows.glsl sees it: the element offset of sample 0 and the distance between samples.
struct Rows {
    uint32_t offset, stride;
};

void requireRows(const TensorView& v, std::string_view kernel) {
    if (!v.samplesContiguous())
        throw std::invalid_argument(std::string(kernel) + ": a view must keep each sample contiguous");
    if (v.offset() + v.shape().n * v.strides()[0] > (uint64_t{1} << 32))
        throw std::invalid_argument(std::string(kernel) + ": view past 2^32 elements");
}

// Checks the views agree and picks the vec4 variant when every row starts on a multiple of 4.
struct Layout {
    uint32_t rows, rowLength;
    bool vec4;
    std::array<Rows, 3> views{};
};

Layout layoutOf(std::initializer_list<TensorView> views, std::string_view kernel) {
    const TensorView& first = *views.begin();
    Layout layout{};
    layout.rows = first.shape().n;
    layout.rowLength = first.shape().c * first.shape().h * first.shape().w;
    layout.vec4 = layout.rowLength % 4 == 0;
    std::size_t i = 0;
    for (const auto& v : views) {
        if (v.shape() != first.shape())
            throw std::invalid_argument(std::string(kernel) + ": shapes " + toString(first.shape()) + " and " +
                                        toString(v.shape()) + " differ");
        requireRows(v, kernel);
        const Rows rows{static_cast<uint32_t>(v.offset()), static_cast<uint32_t>(v.strides()[0])};
        layout.vec4 = layout.vec4 && rows.offset % 4 == 0 && (layout.rows == 1 || rows.stride % 4 == 0);
        layout.views[i++] = rows;
    }
    return layout;
}

// `texels`: the shader reads its vec4 inputs as texels (rows.glsl's TEXELS; named only when set,
// as shaders without inputs, such as fill, have no such constant).
const Kernel& kernelFor(Pipelines& pipelines, ShaderName shader, const Layout& layout, bool texels = false) {
    Specialization spec{{"WORKGROUP_X", workgroupAtMost(pipelines.device(), kWorkgroupSize)}, {"VEC4", layout.vec4 ? 1u : 0u}};
    if (texels) spec["TEXELS"] = 1;
    return pipelines.get(shader, spec);
}

std::array<uint32_t, 3> groupsFor(const Layout& layout, const Device& device) {
    const uint64_t items = layout.vec4 ? layout.rowLength / 4 : layout.rowLength;
    return rowsGrid(device, layout.rows, items, workgroupAtMost(device, kWorkgroupSize));
}

void fillChunk(const Recording& rec, const TensorView& y, float value) {
    const Layout l = layoutOf({y}, "fill");
    struct Push {
        uint32_t rows, rowLength, yOffset, yStride;
        float value;
    } push{l.rows, l.rowLength, l.views[0].offset, l.views[0].stride, value};
    rec.recorder.dispatch(kernelFor(rec.pipelines, "fill", l), {y}, push, groupsFor(l, rec.device()));
}

void copyChunk(const Recording& rec, const TensorView& x, const TensorView& y) {
    const Layout l = layoutOf({x, y}, "copy");
    struct Push {
        uint32_t rows, rowLength, xOffset, xStride, yOffset, yStride;
    } push{l.rows, l.rowLength, l.views[0].offset, l.views[0].stride, l.views[1].offset, l.views[1].stride};
    const bool texels = texelLoads(rec.device(), l.vec4, {x});
    rec.recorder.dispatch(kernelFor(rec.pipelines, "copy", l, texels), {x, y, texelBinding(texels, x)}, push,
                          groupsFor(l, rec.device()));
}

void axpbyChunk(const Recording& rec, float alpha, const TensorView& x, float beta,
                const TensorView& y, const TensorView& z) {
    const Layout l = layoutOf({x, y, z}, "axpby");
    struct Push {
        uint32_t rows, rowLength, xOffset, xStride, yOffset, yStride, zOffset, zStride;
        float alpha, beta;
    } push{l.rows, l.rowLength, l.views[0].offset, l.views[0].stride, l.views[1].offset, l.views[1].stride,
           l.views[2].offset, l.views[2].stride, alpha, beta};
    const bool texels = texelLoads(rec.device(), l.vec4, {x, y});
    rec.recorder.dispatch(kernelFor(rec.pipelines, "axpby", l, texels),
                          {x, y, z, texelBinding(texels, x), texelBinding(texels, y)}, push, groupsFor(l, rec.device()));
}

void reluForwardChunk(const Recording& rec, const TensorView& x, const TensorView& y) {
    const Layout l = layoutOf({x, y}, "relu_forward");
    struct Push {
        uint32_t rows, rowLength, xOffset, xStride, yOffset, yStride;
    } push{l.rows, l.rowLength, l.views[0].offset, l.views[0].stride, l.views[1].offset, l.views[1].stride};
    const bool texels = texelLoads(rec.device(), l.vec4, {x});
    rec.recorder.dispatch(kernelFor(rec.pipelines, "relu_forward", l, texels), {x, y, texelBinding(texels, x)}, push,
                          groupsFor(l, rec.device()));
}

void reluBackwardChunk(const Recording& rec, const TensorView& x, const TensorView& dy, const TensorView& dx) {
    const Layout l = layoutOf({x, dy, dx}, "relu_backward");
    struct Push {
        uint32_t rows, rowLength, xOffset, xStride, dyOffset, dyStride, dxOffset, dxStride;
    } push{l.rows, l.rowLength, l.views[0].offset, l.views[0].stride, l.views[1].offset, l.views[1].stride,
           l.views[2].offset, l.views[2].stride};
    const bool texels = texelLoads(rec.device(), l.vec4, {x, dy});
    rec.recorder.dispatch(kernelFor(rec.pipelines, "relu_backward", l, texels),
                          {x, dy, dx, texelBinding(texels, x), texelBinding(texels, dy)}, push, groupsFor(l, rec.device()));
}

void quantizeChunk(const Recording& rec, const TensorView& x, const FixedPoint& fixed) {
    const Layout l = layoutOf({x}, "quantize");
    struct Push {
        uint32_t rows, rowLength, xOffset, xStride, overflowAt;
    } push{l.rows, l.rowLength, l.views[0].offset, l.views[0].stride, uint32_t(fixed.overflow.offset())};
    const Kernel& kernel = rec.pipelines.get("quantize", {{"WORKGROUP_X", workgroupAtMost(rec.device(), kWorkgroupSize)},
                                                      {"VEC4", l.vec4 ? 1u : 0u}, {"FIXED_BITS", fixed.bits}});
    rec.recorder.dispatch(kernel, {x, fixed.overflow}, push, groupsFor(l, rec.device()));
}

}  // namespace

// Each runs in batch chunks whose bindings fit the device's storage range (dispatch.hpp).
void fill(const Recording& rec, const TensorView& y, float value) {
    forBatchChunks(y.shape().n, samplesPerDispatch(rec.device(), {y}, "fill"), [&](uint32_t first, uint32_t count) {
        fillChunk(rec, y.batch(first, count), value);
    });
}

void copy(const Recording& rec, const TensorView& x, const TensorView& y) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, y}, "copy"), [&](uint32_t first, uint32_t count) {
        copyChunk(rec, x.batch(first, count), y.batch(first, count));
    });
}

void axpby(const Recording& rec, float alpha, const TensorView& x, float beta,
           const TensorView& y, const TensorView& z) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, y, z}, "axpby"),
                   [&](uint32_t first, uint32_t count) {
                       axpbyChunk(rec, alpha, x.batch(first, count), beta, y.batch(first, count),
                                  z.batch(first, count));
                   });
}

void reluForward(const Recording& rec, const TensorView& x, const TensorView& y) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, y}, "relu_forward"),
                   [&](uint32_t first, uint32_t count) {
                       reluForwardChunk(rec, x.batch(first, count), y.batch(first, count));
                   });
}

void reluBackward(const Recording& rec, const TensorView& x, const TensorView& dy, const TensorView& dx) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x, dy, dx}, "relu_backward"),
                   [&](uint32_t first, uint32_t count) {
                       reluBackwardChunk(rec, x.batch(first, count), dy.batch(first, count),
                                         dx.batch(first, count));
                   });
}

void quantize(const Recording& rec, const TensorView& x, const FixedPoint& fixed) {
    forBatchChunks(x.shape().n, samplesPerDispatch(rec.device(), {x}, "quantize"), [&](uint32_t first, uint32_t count) {
        quantizeChunk(rec, x.batch(first, count), fixed);
    });
}

}  // namespace revnet::kernels
