// Shared by the max pool shaders: where in the plane (row-major, from `plane` in buffer x) the
// 3x3 stride-2 padding-1 window of output (oy, ox) has its maximum: the first in row-major order
// among equals, as PyTorch picks it, so that forward and backward agree on ties (ReLU zeros).
uint windowArgmax(uint plane, uint oy, uint ox, uint H, uint W) {
    const int y0 = int(2 * oy) - 1, x0 = int(2 * ox) - 1;
    uint best = uint(max(y0, 0)) * W + uint(max(x0, 0));
    float bestValue = x[plane + best];
    [[unroll]] for (int dy = 0; dy < 3; ++dy) {
        const int yy = y0 + dy;
        if (yy < 0 || yy >= int(H)) continue;
        [[unroll]] for (int dx = 0; dx < 3; ++dx) {
            const int xx = x0 + dx;
            if (xx < 0 || xx >= int(W)) continue;
            const uint i = uint(yy) * W + uint(xx);
            if (x[plane + i] > bestValue) {
                bestValue = x[plane + i];
                best = i;
            }
        }
    }
    return best;
}
