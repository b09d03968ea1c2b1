// What the data-parallel tests share: the processes of their MPI launch.
#pragma once

#include "revnet/training/mpi_communicator.hpp"

namespace revnet::test {

training::MpiCommunicator& processes();

}  // namespace revnet::test
