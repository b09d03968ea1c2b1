#include "revnet/datasets/file_bytes.hpp"

#include "revnet/datasets/dataset.hpp"

#include <zlib.h>

#include <algorithm>

namespace revnet::datasets {

CompressedFile::CompressedFile(const std::filesystem::path& file) : file_(file), handle_(nullptr) {
    if (!std::filesystem::is_regular_file(file)) throw DatasetError(file.string(), 0, "no such file");
    handle_ = gzopen(file.c_str(), "rb");
    if (!handle_) throw DatasetError(file.string(), 0, "cannot open");
}

CompressedFile::~CompressedFile() { gzclose(handle_); }

void CompressedFile::read(std::vector<uint8_t>& into, std::uint64_t count) {
    while (count > 0) {
        // Small steps: the vector grows as the data really arrives, not as a header claims.
        const unsigned chunk = unsigned(std::min<std::uint64_t>(count, 1u << 16));
        const std::size_t at = into.size();
        into.resize(at + chunk);
        const int n = gzread(handle_, into.data() + at, chunk);
        int code = Z_OK;
        const char* message = gzerror(handle_, &code);
        if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {  // a truncated .gz ends here
            into.resize(at);
            throw DatasetError(file_.string(), position_, std::string("corrupt gzip data: ") + message);
        }
        into.resize(at + std::size_t(n));
        position_ += std::uint64_t(n);
        count -= std::uint64_t(n);
        if (n == 0) break;
    }
}

bool CompressedFile::atEnd() {
    std::vector<uint8_t> probe;
    read(probe, 1);
    position_ -= probe.size();  // positions name bytes of the data, not how far the probe went
    if (probe.empty()) return true;
    gzungetc(probe[0], handle_);
    return false;
}

std::vector<uint8_t> readFileBytes(const std::filesystem::path& file, std::uint64_t limit) {
    CompressedFile in(file);
    std::vector<uint8_t> bytes;
    in.read(bytes, limit);
    if (!in.atEnd())
        throw DatasetError(file.string(), limit, "more than " + std::to_string(limit) + " bytes (the most this format allows)");
    return bytes;
}

}  // namespace revnet::datasets
