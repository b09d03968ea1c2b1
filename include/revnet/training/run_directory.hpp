// A run directory held by one run: created if missing, checked to be writable before anything
// trains, locked (flock on a lock file inside it) for the run's lifetime so that a second run
// into it is refused instead of interleaving its metrics and checkpoints, and cleared of the
// temporary files that a killed save leaves behind.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string>

namespace revnet::training {

class RunDirectoryError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// What a run may find in the directory: nothing of a previous run (New), the run it continues
// (Resume), or anything, its metrics and checkpoint deleted (Overwrite).
// Replaces `file` with `text` whole: written beside it as FILE.tmp, then renamed over it, so that
// a reader or a kill never sees half of it. Throws naming the file; a failed write leaves no
// temporary.
void replaceFile(const std::filesystem::path& file, const std::string& text);

enum class RunMode { New, Resume, Overwrite };

class RunDirectory {
public:
    // The files a run writes into its directory.
    static constexpr const char* kMetrics = "metrics.csv";
    static constexpr const char* kCheckpoint = "checkpoint.safetensors";
    static constexpr const char* kCurves = "curves.svg";  // drawn from the metrics each epoch
    static constexpr const char* kLock = ".revnet.lock";

    // Throws RunDirectoryError naming the directory and what is wrong.
    RunDirectory(std::filesystem::path path, RunMode mode);
    ~RunDirectory();
    RunDirectory(const RunDirectory&) = delete;
    RunDirectory& operator=(const RunDirectory&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path checkpoint() const { return path_ / kCheckpoint; }
    std::filesystem::path metrics() const { return path_ / kMetrics; }

    // A directory of its own under `parent` named PREFIX-YYYYmmdd-HHMMSS, with -2, -3... when
    // that name is taken (runs started in the same second); created here, so no two callers get
    // the same one.
    static std::filesystem::path createUnique(const std::filesystem::path& parent, const std::string& prefix);

private:
    std::filesystem::path path_;
    int lock_ = -1;
};

}  // namespace revnet::training
