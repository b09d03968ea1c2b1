// Shared by the per-channel shaders (batch norm, pooling). A view is N samples of C channels of
// `plane` contiguous floats (H*W): channel c of sample n starts at offset + n*sampleStride + c*plane,
// so a channel range of a bigger tensor is a view too.
struct View { uint offset, sampleStride; };
uint at(View v, uint n, uint c, uint plane, uint i) { return v.offset + n * v.sampleStride + c * plane + i; }
