// The processes that train one model together, each on its share of every batch (data
// parallelism), and the few collective operations the trainer needs of them. One process alone
// is a communicator of size 1 whose operations change nothing; training/mpi_communicator.hpp
// spans the processes of an MPI launch.
#pragma once

#include <cstdint>
#include <span>

namespace revnet::training {

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual uint32_t rank() const = 0;
    virtual uint32_t size() const = 0;
    // This process's index among those on the same machine (which of its devices it takes).
    virtual uint32_t localRank() const = 0;
    // In place: each element becomes its sum over every process (the same bits on every process).
    virtual void sum(std::span<float> values) = 0;
    virtual void sum(std::span<double> values) = 0;
    // Every process's `mine` (as long on each), concatenated in rank order into `all`.
    virtual void gather(std::span<const float> mine, std::span<float> all) = 0;
    // `values` of process `root` copied into every process's.
    virtual void broadcast(std::span<float> values, uint32_t root) = 0;
    // sum() without waiting: the values must stay untouched until finishSums() returns, which
    // completes every sum started; progress() moves them on (call it while waiting for other work).
    virtual void startSum(std::span<float> values) = 0;
    virtual void progress() = 0;
    virtual void finishSums() = 0;
};

class SingleProcess final : public Communicator {
public:
    uint32_t rank() const override { return 0; }
    uint32_t size() const override { return 1; }
    uint32_t localRank() const override { return 0; }
    void sum(std::span<float>) override {}
    void sum(std::span<double>) override {}
    void gather(std::span<const float> mine, std::span<float> all) override;
    void broadcast(std::span<float>, uint32_t) override {}
    void startSum(std::span<float>) override {}
    void progress() override {}
    void finishSums() override {}
};

}  // namespace revnet::training
