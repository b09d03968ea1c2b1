#include "datasets/file_bytes.hpp"

#include "datasets/dataset.hpp"

#include <zlib.h>

#include <memory>

namespace revnet::datasets {

std::vector<uint8_t> readFileBytes(const std::filesystem::path& file) {
    if (!std::filesystem::is_regular_file(file)) throw DatasetError(file.string(), 0, "no such file");
    std::unique_ptr<gzFile_s, int (*)(gzFile)> in(gzopen(file.c_str(), "rb"), gzclose);
    if (!in) throw DatasetError(file.string(), 0, "cannot open");
    std::vector<uint8_t> bytes;
    std::vector<uint8_t> chunk(1 << 20);
    for (;;) {
        const int n = gzread(in.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
        if (n < 0) {
            int code = 0;
            throw DatasetError(file.string(), bytes.size(), std::string("corrupt gzip data: ") + gzerror(in.get(), &code));
        }
        if (n == 0) break;
        bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
    }
    int code = Z_OK;
    const char* message = gzerror(in.get(), &code);
    if (code != Z_OK && code != Z_STREAM_END)  // a truncated .gz ends here
        throw DatasetError(file.string(), bytes.size(), std::string("corrupt gzip data: ") + message);
    return bytes;
}

}  // namespace revnet::datasets
