#include "revnet/training/run_directory.hpp"

#include "revnet/training/checkpoint.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace revnet::training {

namespace fs = std::filesystem;

namespace {

std::string errnoText() { return std::strerror(errno); }

bool isTemporaryCheckpoint(const fs::path& file) {
    return file.filename().string().rfind(std::string(RunDirectory::kCheckpoint) + kTemporarySuffix, 0) == 0;
}

}  // namespace

void replaceFile(const fs::path& file, const std::string& text) {
    fs::path temporary = file;
    temporary += ".tmp";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << text;
        if (!out.flush()) {
            out.close();
            std::error_code ignored;
            fs::remove(temporary, ignored);
            throw std::runtime_error("cannot write " + file.string() + " (disk full?)");
        }
    }
    fs::rename(temporary, file);
}

RunDirectory::RunDirectory(fs::path path, RunMode mode) : path_(std::move(path)) {
    const std::string where = "run directory " + path_.string();
    std::error_code error;
    fs::create_directories(path_, error);
    if (error || !fs::is_directory(path_)) {
        throw RunDirectoryError("cannot create the " + where + ": " +
                                (error ? error.message() : std::string("exists and is not a directory")));
    }
    // Opening the lock file for writing is also the check that the directory is writable.
    lock_ = ::open((path_ / kLock).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (lock_ < 0) throw RunDirectoryError("cannot write into the " + where + ": " + errnoText());
    if (::flock(lock_, LOCK_EX | LOCK_NB) != 0) {
        ::close(lock_);
        throw RunDirectoryError("another run is using the " + where + " (it holds " + kLock + ")");
    }
    try {
        // Under the lock no save is in progress: every temporary checkpoint is a killed save's.
        for (const auto& entry : fs::directory_iterator(path_))
            if (isTemporaryCheckpoint(entry.path())) fs::remove(entry.path());
        for (const char* name : {kMetrics, kCurves})  // a killed replaceFile's; the next epoch writes them again
            fs::remove(fs::path(path_ / name) += ".tmp");
        for (const auto& entry : fs::directory_iterator(path_))
            if (mode == RunMode::New && entry.path().filename() != kLock)
                throw RunDirectoryError("the " + where + " is not empty (it holds " + entry.path().filename().string() +
                                        "): continue a run with --resume, choose another --run-dir, or replace its "
                                        "metrics and checkpoint with --overwrite");
        if (mode == RunMode::Overwrite) {
            fs::remove(checkpoint());
            fs::remove(metrics());
            fs::remove(path_ / kCurves);
        }
    } catch (const fs::filesystem_error& e) {
        ::close(lock_);
        throw RunDirectoryError("the " + where + ": " + e.what());
    } catch (...) {
        ::close(lock_);
        throw;
    }
}

RunDirectory::~RunDirectory() { ::close(lock_); }  // closing releases the lock

fs::path RunDirectory::createUnique(const fs::path& parent, const std::string& prefix) {
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    ::localtime_r(&now, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
    std::error_code error;
    fs::create_directories(parent, error);
    for (int n = 1; n < 1000; ++n) {
        std::string name = prefix + "-" + stamp;
        if (n > 1) name.append("-").append(std::to_string(n));
        const fs::path candidate = parent / name;
        if (fs::create_directory(candidate, error)) return candidate;  // false: it exists
        if (error) throw RunDirectoryError("cannot create the run directory " + candidate.string() + ": " + error.message());
    }
    throw RunDirectoryError("999 run directories named " + (parent / (prefix + "-" + stamp)).string() + "* exist");
}

}  // namespace revnet::training
