// libFuzzer target: the CIFAR-10 and CIFAR-100 binary readers on hostile files.
#include "revnet/datasets/cifar_reader.hpp"
#include "fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace revnet::datasets;
    const revnet::fuzz::ScratchFile file({data, size});
    for (const auto& [kind, labels] : {std::pair{Cifar::Ten, CifarLabels::Fine}, std::pair{Cifar::Hundred, CifarLabels::Fine},
                                       std::pair{Cifar::Hundred, CifarLabels::Coarse}}) {
        try {
            Dataset d;
            readCifarFile(file.path(), kind, labels, d);
            if (d.images.size() != d.size() * d.imageBytes()) __builtin_trap();
            for (uint32_t label : d.labels)
                if (label >= d.classes) __builtin_trap();
        } catch (const DatasetError&) {
        }
    }
    return 0;
}
