// Files read through zlib, which gunzips gzip files and reads plain ones unchanged. Reads stop at
// a size the caller gives, so a small hostile .gz cannot inflate into gigabytes of memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

struct gzFile_s;  // zlib's

namespace revnet::datasets {

class CompressedFile {
public:
    // Throws DatasetError when `file` is not a regular file or cannot be opened.
    explicit CompressedFile(const std::filesystem::path& file);
    ~CompressedFile();
    CompressedFile(const CompressedFile&) = delete;
    CompressedFile& operator=(const CompressedFile&) = delete;

    // Appends up to `count` bytes to `into`; fewer only at the end of the data. Throws
    // DatasetError on corrupt or truncated gzip data.
    void read(std::vector<uint8_t>& into, std::uint64_t count);
    // Whether any byte is left (reads one at most).
    bool atEnd();
    std::uint64_t position() const { return position_; }

private:
    std::filesystem::path file_;
    ::gzFile_s* handle_;
    std::uint64_t position_ = 0;
};

// The whole file, refused (DatasetError) when it holds more than `limit` bytes once gunzipped.
std::vector<uint8_t> readFileBytes(const std::filesystem::path& file, std::uint64_t limit);

}  // namespace revnet::datasets
