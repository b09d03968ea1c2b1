// The fuzz input as a file for the readers, which take paths: in /dev/shm (memory) when there
// is one, removed when the input is done.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <unistd.h>

namespace revnet::fuzz {

class ScratchFile {
public:
    explicit ScratchFile(std::span<const uint8_t> bytes) {
        static int serial = 0;  // two files per input in the IDX target
        const std::filesystem::path dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
        path_ = dir / ("revnet-fuzz-" + std::to_string(::getpid()) + "-" + std::to_string(serial++ % 2));
        std::ofstream(path_, std::ios::binary | std::ios::trunc)
            .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    }
    ~ScratchFile() { std::filesystem::remove(path_); }
    ScratchFile(const ScratchFile&) = delete;
    ScratchFile& operator=(const ScratchFile&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace revnet::fuzz
