#include "revnet/kernels/linear.hpp"

#include "kernels/dispatch.hpp"

namespace revnet::kernels {

namespace {
constexpr uint32_t kGroup = 64;
}

void linearForward(const Recording& rec, const LinearShape& s, const TensorView& x,
                   const TensorView& w, const TensorView& b, const TensorView& y) {
    constexpr ShaderName name{"fc_forward"};
    struct Push {
        uint32_t N, I, O, xOffset, wOffset, bOffset, yOffset;
    } push{s.batch, s.in, s.out, denseOffset(x, uint64_t{s.batch} * s.in, name, "input"),
           denseOffset(w, uint64_t{s.out} * s.in, name, "weight"), denseOffset(b, s.out, name, "bias"),
           denseOffset(y, uint64_t{s.batch} * s.out, name, "output")};
    rec.recorder.dispatch(rec.pipelines.get(name, {{"WORKGROUP_X", kGroup}}), {x, w, b, y}, push,
                      {groupsFor(rec.device(), uint64_t{s.batch} * s.out, kGroup), 1, 1});
}

void linearGradInput(const Recording& rec, const LinearShape& s, const TensorView& dy,
                     const TensorView& w, const TensorView& dx) {
    constexpr ShaderName name{"fc_grad_input"};
    struct Push {
        uint32_t N, I, O, dyOffset, wOffset, dxOffset;
    } push{s.batch, s.in, s.out, denseOffset(dy, uint64_t{s.batch} * s.out, name, "output gradient"),
           denseOffset(w, uint64_t{s.out} * s.in, name, "weight"),
           denseOffset(dx, uint64_t{s.batch} * s.in, name, "input gradient")};
    rec.recorder.dispatch(rec.pipelines.get(name, {{"WORKGROUP_X", kGroup}}), {dy, w, dx}, push,
                      {groupsFor(rec.device(), uint64_t{s.batch} * s.in, kGroup), 1, 1});
}

void linearGradParams(const Recording& rec, const LinearShape& s, const TensorView& x,
                      const TensorView& dy, const TensorView& dw, const TensorView& db) {
    constexpr ShaderName name{"fc_grad_params"};
    struct Push {
        uint32_t N, I, O, xOffset, dyOffset, dwOffset, dbOffset;
    } push{s.batch, s.in, s.out, denseOffset(x, uint64_t{s.batch} * s.in, name, "input"),
           denseOffset(dy, uint64_t{s.batch} * s.out, name, "output gradient"),
           denseOffset(dw, uint64_t{s.out} * s.in, name, "weight gradient"), denseOffset(db, s.out, name, "bias gradient")};
    rec.recorder.dispatch(rec.pipelines.get(name, {{"WORKGROUP_X", kGroup}}), {x, dy, dw, db}, push,
                      {groupsFor(rec.device(), uint64_t{s.out} * (s.in + 1), kGroup), 1, 1});
}

}  // namespace revnet::kernels
