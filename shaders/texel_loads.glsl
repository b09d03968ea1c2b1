// Item i of a vec4 input: from its RGBA32F texel view `texels` under TEXELS, else from the storage
// buffer `buffer4`. Included after the including file declares its TEXELS specialization constant.
#define LOAD4(buffer4, texels, i) (TEXELS ? imageLoad(texels, int(i)) : buffer4[i])
