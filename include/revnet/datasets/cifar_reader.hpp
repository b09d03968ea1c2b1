// CIFAR-10 and CIFAR-100, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): records of
// label byte(s) then 3072 bytes (red, green, blue 32x32 planes). CIFAR-10: one label byte,
// data_batch_1.bin ... data_batch_5.bin and test_batch.bin. CIFAR-100: coarse then fine label
// byte, train.bin and test.bin.
#pragma once

#include "revnet/datasets/dataset.hpp"

#include <filesystem>

namespace revnet::datasets {

enum class Cifar { Ten, Hundred };
enum class CifarLabels { Fine, Coarse };  // CIFAR-100 only

// Appends the records of one file to `into`; checks the size is whole records and label ranges.
void readCifarFile(const std::filesystem::path& file, Cifar kind, CifarLabels labels, Dataset& into);
Split readCifarDirectory(const std::filesystem::path& directory, Cifar kind, CifarLabels labels = CifarLabels::Fine);

}  // namespace revnet::datasets
