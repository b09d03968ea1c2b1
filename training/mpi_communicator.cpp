#include "revnet/training/mpi_communicator.hpp"

#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace revnet::training {

namespace {

void check(int result, const char* what) {
    if (result == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(result, text, &length);
    throw std::runtime_error(std::string(what) + " failed: " + std::string(text, std::size_t(length)));
}

// MPI counts are ints: long spans go in pieces.
template <typename T, typename Call>
void inPieces(std::span<T> values, Call call) {
    for (std::size_t first = 0; first < values.size(); first += INT_MAX) {
        const std::size_t count = std::min<std::size_t>(values.size() - first, INT_MAX);
        call(values.data() + first, int(count));
    }
}

}  // namespace

struct MpiCommunicator::Requests {
    std::vector<MPI_Request> requests;
};

bool MpiCommunicator::launched() {
    // Open MPI's mpirun, and PMIx / PMI launchers (srun, other MPIs).
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
        if (std::getenv(name)) return true;
    return false;
}

MpiCommunicator::MpiCommunicator() : pending_(std::make_unique<Requests>()) {
    int provided = 0;
    // Only the thread that constructs this calls MPI.
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    // Errors come back as results (and then exceptions with MPI's text) rather than aborting.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int rank = 0, size = 1, local = 0;
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size");
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node), "MPI_Comm_split_type");
    check(MPI_Comm_rank(node, &local), "MPI_Comm_rank");
    MPI_Comm_free(&node);
    rank_ = uint32_t(rank), size_ = uint32_t(size), localRank_ = uint32_t(local);
}

MpiCommunicator::~MpiCommunicator() {
    if (!pending_->requests.empty()) MPI_Waitall(int(pending_->requests.size()), pending_->requests.data(), MPI_STATUSES_IGNORE);
    MPI_Finalize();
}

void MpiCommunicator::abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);  // MPI_Abort does not return; should it, this process still ends
}

void MpiCommunicator::sum(std::span<float> values) {
    inPieces(values, [](float* at, int count) {
        check(MPI_Allreduce(MPI_IN_PLACE, at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    });
}

void MpiCommunicator::sum(std::span<double> values) {
    inPieces(values, [](double* at, int count) {
        check(MPI_Allreduce(MPI_IN_PLACE, at, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    });
}

void MpiCommunicator::gather(std::span<const float> mine, std::span<float> all) {
    if (all.size() != mine.size() * size_) throw std::invalid_argument("gather: the result must hold every process's part");
    if (mine.size() > INT_MAX) throw std::invalid_argument("gather: a part past MPI's int count");
    check(MPI_Allgather(mine.data(), int(mine.size()), MPI_FLOAT, all.data(), int(mine.size()), MPI_FLOAT, MPI_COMM_WORLD),
          "MPI_Allgather");
}

void MpiCommunicator::startSum(std::span<float> values) {
    inPieces(values, [this](float* at, int count) {
        MPI_Request request = MPI_REQUEST_NULL;
        check(MPI_Iallreduce(MPI_IN_PLACE, at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &request), "MPI_Iallreduce");
        pending_->requests.push_back(request);
    });
}

void MpiCommunicator::progress() {
    // Open MPI moves non-blocking collectives only inside MPI calls: a test is such a call.
    if (pending_->requests.empty()) return;
    int done = 0;
    check(MPI_Testall(int(pending_->requests.size()), pending_->requests.data(), &done, MPI_STATUSES_IGNORE),
          "MPI_Testall");
}

void MpiCommunicator::finishSums() {
    auto& r = pending_->requests;
    if (r.empty()) return;
    check(MPI_Waitall(int(r.size()), r.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
    r.clear();
}

void MpiCommunicator::broadcast(std::span<float> values, uint32_t root) {
    inPieces(values, [root](float* at, int count) {
        check(MPI_Bcast(at, count, MPI_FLOAT, int(root), MPI_COMM_WORLD), "MPI_Bcast");
    });
}

}  // namespace revnet::training
