// The data-parallel tests' program, run as `mpirun -np 2 revnet_parallel_tests`: MPI spans the
// whole Catch2 session (every process runs the same test cases in the same order, so their
// collectives meet), and any Vulkan validation message fails the process that saw it.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/parallel_test.hpp"
#include "tests/test_engine.hpp"

#include <vector>

namespace {
revnet::training::MpiCommunicator* launch = nullptr;
}

revnet::training::MpiCommunicator& revnet::test::processes() { return *launch; }

int main(int argc, char** argv) {
    revnet::training::MpiCommunicator mpi;
    launch = &mpi;
    const int result = revnet::test::verdict(Catch::Session().run(argc, argv));
    // A process whose assertions failed must fail the launch even if the others passed.
    std::vector<double> failed{result != 0 ? 1.0 : 0.0};
    mpi.sum(failed);
    return failed[0] > 0 ? 1 : 0;
}
