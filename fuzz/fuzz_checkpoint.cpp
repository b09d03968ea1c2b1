// libFuzzer target: the checkpoint reader on hostile files. What it accepts must be whole:
// every tensor holds as many values as its shape says.
#include "fuzz/fuzz_file.hpp"
#include "revnet/training/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const revnet::fuzz::ScratchFile file({data, size});
    try {
        const auto checkpoint = revnet::training::readCheckpoint(file.path());
        for (const auto& t : checkpoint.tensors) {
            uint64_t elements = 1;
            for (uint32_t d : t.shape) elements *= d;
            if (elements != t.values.size()) __builtin_trap();
        }
    } catch (const revnet::training::CheckpointError&) {
    }
    return 0;
}
