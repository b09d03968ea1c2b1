// What a kernel launcher records into: the pipelines it takes its kernels from and the recording
// its dispatches join. One argument instead of a pair at every call.
#pragma once

#include "revnet/engine/command_recorder.hpp"
#include "revnet/engine/pipelines.hpp"

namespace revnet {

struct Recording {
    Pipelines& pipelines;
    Recorder& recorder;
    const Device& device() const { return pipelines.device(); }
};

}  // namespace revnet
