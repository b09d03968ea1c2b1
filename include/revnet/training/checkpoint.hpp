// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
// then the raw little-endian float32 data; the Python tools people already use read them.
// revnet-vk adds to the header's __metadata__ a format version, the run's configuration and
// position, and a CRC-32 of the payload. Writes are atomic: a crash mid-save leaves the previous
// file whole.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace revnet::training {

constexpr const char* kCheckpointFormat = "revnet-vk";
constexpr int kCheckpointVersion = 1;

class CheckpointError : public std::runtime_error {
public:
    CheckpointError(const std::filesystem::path& file, const std::string& problem)
        : std::runtime_error(file.string() + ": " + problem) {}
};

struct NamedTensor {
    std::string name;
    std::vector<uint32_t> shape;
    std::vector<float> values;
};

struct Checkpoint {
    std::map<std::string, std::string> metadata;  // besides format, version and checksum
    std::vector<NamedTensor> tensors;
    const NamedTensor& tensor(const std::string& name, const std::filesystem::path& file) const;
    // The values of tensor `name`, which must have `shape` (or `legacy`, a shape older checkpoints
    // used, when given); CheckpointError naming the tensor otherwise.
    const std::vector<float>& values(const std::string& name, const std::vector<uint32_t>& shape,
                                     const std::filesystem::path& file, const std::vector<uint32_t>& legacy = {}) const;
};

// The temporary file a save writes before renaming it over the checkpoint: FILE + this + pid.
constexpr const char* kTemporarySuffix = ".tmp-";
std::filesystem::path temporaryCheckpointName(const std::filesystem::path& file);

// Writes `file` through a temporary file beside it, flushed, then renamed over it; on any
// failure the temporary file is removed and `file` is as it was. Refuses to replace anything
// but a regular file (a link, a device, a directory).
void writeCheckpoint(const std::filesystem::path& file, const Checkpoint& checkpoint);
// Reads and checks it: header bounds, JSON, dtypes, shapes against byte ranges (overflow-checked;
// the ranges must tile the data in order, without overlap or gaps), format, version and checksum. Throws CheckpointError saying what is wrong.
Checkpoint readCheckpoint(const std::filesystem::path& file);

}  // namespace revnet::training
