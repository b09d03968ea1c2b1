#include "revnet/training/checkpoint.hpp"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <bit>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <unistd.h>

namespace revnet::training {

namespace {

using nlohmann::json;

uint32_t crc32Of(const std::vector<char>& bytes, std::size_t from) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (std::size_t at = from; at < bytes.size();) {  // zlib takes at most 4 GiB a call
        const uInt n = static_cast<uInt>(std::min<std::size_t>(bytes.size() - at, 1u << 30));
        crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), n);
        at += n;
    }
    return static_cast<uint32_t>(crc);
}

std::string hex(uint32_t v) {
    char text[16];
    std::snprintf(text, sizeof text, "%08x", v);
    return text;
}

}  // namespace

const NamedTensor& Checkpoint::tensor(const std::string& name, const std::filesystem::path& file) const {
    for (const auto& t : tensors)
        if (t.name == name) return t;
    throw CheckpointError(file, "no tensor '" + name + "'");
}

const std::vector<float>& Checkpoint::values(const std::string& name, const std::vector<uint32_t>& shape,
                                             const std::filesystem::path& file, const std::vector<uint32_t>& legacy) const {
    const NamedTensor& t = tensor(name, file);
    if (!legacy.empty() && t.shape == legacy) return t.values;
    auto text = [](const std::vector<uint32_t>& s) {
        std::string out;
        for (uint32_t d : s) out += (out.empty() ? "" : "x") + std::to_string(d);
        return "[" + out + "]";
    };
    if (t.shape != shape) throw CheckpointError(file, name + " has shape " + text(t.shape) + ", the model needs " + text(shape));
    return t.values;
}

void writeCheckpoint(const std::filesystem::path& file, const Checkpoint& checkpoint) {
    json header = json::object();
    std::vector<char> payload;
    for (const auto& t : checkpoint.tensors) {
        const std::size_t begin = payload.size(), bytes = t.values.size() * sizeof(float);
        payload.resize(begin + bytes);
        std::memcpy(payload.data() + begin, t.values.data(), bytes);  // little-endian hosts only (checked below)
        header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {begin, begin + bytes}}};
    }
    json metadata = checkpoint.metadata;
    metadata["format"] = kCheckpointFormat;
    metadata["format_version"] = std::to_string(kCheckpointVersion);
    metadata["payload_crc32"] = hex(crc32Of(payload, 0));
    header["__metadata__"] = metadata;
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // safetensors pads the header to 8 bytes
    const uint64_t length = text.size();

    // Only a regular file is replaced: a link, device or directory at `file` is someone else's.
    const auto status = std::filesystem::symlink_status(file);
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
        throw CheckpointError(file, "exists and is not a regular file; not replaced");
    const std::filesystem::path temporary = temporaryCheckpointName(file);
    try {
        {
            std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
            if (!out) throw CheckpointError(temporary, "cannot create");
            char size[8];
            for (int i = 0; i < 8; ++i) size[i] = char(length >> (8 * i));
            out.write(size, 8);
            out.write(text.data(), std::streamsize(text.size()));
            out.write(payload.data(), std::streamsize(payload.size()));
            out.flush();
            if (!out) throw CheckpointError(temporary, "write failed (disk full?)");
        }
        if (FILE* f = std::fopen(temporary.c_str(), "rb")) {  // to disk before the rename makes it the checkpoint
            const int synced = ::fsync(::fileno(f));
            std::fclose(f);
            if (synced != 0) throw CheckpointError(temporary, "cannot flush to disk (disk full?)");
        }
        std::error_code error;
        std::filesystem::rename(temporary, file, error);
        if (error) throw CheckpointError(file, "cannot replace: " + error.message());
    } catch (...) {
        std::error_code ignored;  // a partial temporary file would keep a full disk full
        std::filesystem::remove(temporary, ignored);
        throw;
    }
}

std::filesystem::path temporaryCheckpointName(const std::filesystem::path& file) {
    return file.string() + kTemporarySuffix + std::to_string(::getpid());
}

Checkpoint readCheckpoint(const std::filesystem::path& file) {
    if (!std::filesystem::is_regular_file(file))  // a device or pipe could hang or never end
        throw CheckpointError(file, std::filesystem::exists(file) ? "not a regular file" : "cannot open: no such file");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw CheckpointError(file, "cannot open");
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.size() < 8) throw CheckpointError(file, "truncated: " + std::to_string(bytes.size()) + " bytes");
    uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= uint64_t(uint8_t(bytes[i])) << (8 * i);
    if (length > bytes.size() - 8)
        throw CheckpointError(file, "header of " + std::to_string(length) + " bytes runs past the file's end (truncated?)");
    json header;
    try {
        header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + std::ptrdiff_t(length));
    } catch (const json::exception& e) {
        throw CheckpointError(file, std::string("header is not valid JSON: ") + e.what());
    }
    const std::size_t start = 8 + length;
    Checkpoint out;
    try {
        const json& meta = header.at("__metadata__");
        if (meta.value("format", "") != kCheckpointFormat) throw CheckpointError(file, "not a revnet-vk checkpoint");
        if (meta.value("format_version", "") != std::to_string(kCheckpointVersion))
            throw CheckpointError(file, "format version " + meta.value("format_version", "?") + ", this build reads " +
                                            std::to_string(kCheckpointVersion));
        const std::vector<char> payload(bytes.begin() + std::ptrdiff_t(start), bytes.end());
        if (meta.value("payload_crc32", "") != hex(crc32Of(payload, 0)))
            throw CheckpointError(file, "checksum mismatch: the tensor data is corrupt or truncated");
        for (const auto& [key, value] : meta.items())
            if (key != "format" && key != "format_version" && key != "payload_crc32") out.metadata[key] = value.get<std::string>();
        // Ranges in order of offset must tile the payload: no overlap, no gap, nothing after.
        std::map<uint64_t, std::pair<uint64_t, std::string>> ranges;
        for (const auto& [name, entry] : header.items()) {
            if (name == "__metadata__") continue;
            if (entry.at("dtype") != "F32") throw CheckpointError(file, name + ": dtype " + entry.at("dtype").dump() + ", not F32");
            NamedTensor t{name, entry.at("shape").get<std::vector<uint32_t>>(), {}};
            const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
            uint64_t bytes = sizeof(float);
            for (uint32_t d : t.shape)
                if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes))
                    throw CheckpointError(file, name + ": shape describes more than 2^64 bytes");
            if (offsets.size() != 2 || offsets[1] < offsets[0] || offsets[1] > payload.size() ||
                offsets[1] - offsets[0] != bytes)
                throw CheckpointError(file, name + ": byte range does not match its shape or the file");
            if (!ranges.emplace(offsets[0], std::pair{offsets[1], name}).second)
                throw CheckpointError(file, name + ": byte range overlaps " + ranges.at(offsets[0]).second);
            t.values.resize(bytes / sizeof(float));
            std::memcpy(t.values.data(), payload.data() + offsets[0], bytes);
            out.tensors.push_back(std::move(t));
        }
        uint64_t end = 0;
        for (const auto& [begin, range] : ranges) {
            if (begin != end)
                throw CheckpointError(file, range.second + ": byte range starts at " + std::to_string(begin) + ", not " +
                                                std::to_string(end) + (begin < end ? " (overlap)" : " (gap)"));
            end = range.first;
        }
        if (end != payload.size())
            throw CheckpointError(file, std::to_string(payload.size() - end) + " bytes past the last tensor's data");
    } catch (const json::exception& e) {
        throw CheckpointError(file, std::string("malformed header: ") + e.what());
    }
    return out;
}

static_assert(std::endian::native == std::endian::little, "checkpoints are little-endian float32; add byte swapping");

}  // namespace revnet::training
