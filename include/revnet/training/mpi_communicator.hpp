// The processes of an MPI launch (`mpirun -np N revnet train ...`, or srun on a cluster) as one
// Communicator over MPI_COMM_WORLD. Constructing it initializes MPI and destroying it finalizes
// it: one per process, alive while the run uses it. Open MPI from Debian (libopenmpi-dev).
#pragma once

#include "revnet/training/communicator.hpp"

#include <memory>

namespace revnet::training {

class MpiCommunicator final : public Communicator {
public:
    MpiCommunicator();
    ~MpiCommunicator() override;
    MpiCommunicator(const MpiCommunicator&) = delete;
    MpiCommunicator& operator=(const MpiCommunicator&) = delete;

    // Whether this process was started by an MPI launcher (its environment says so); without
    // one, a program runs as a single process and needs no MPI.
    static bool launched();

    uint32_t rank() const override { return rank_; }
    uint32_t size() const override { return size_; }
    uint32_t localRank() const override { return localRank_; }
    void sum(std::span<float> values) override;
    void sum(std::span<double> values) override;
    void gather(std::span<const float> mine, std::span<float> all) override;
    void broadcast(std::span<float> values, uint32_t root) override;
    void startSum(std::span<float> values) override;
    void progress() override;
    void finishSums() override;
    // Ends every process of the launch with this exit code: what a process that fails alone does,
    // so that the others, waiting for it in a collective, do not wait forever.
    [[noreturn]] void abort(int code);

private:
    uint32_t rank_ = 0, size_ = 1, localRank_ = 0;
    struct Requests;  // the sums in flight (MPI_Request is mpi.h's, kept out of this header)
    std::unique_ptr<Requests> pending_;
};

}  // namespace revnet::training
