// revnet: the command-line front of revnet-vk. `revnet <command> --help` describes each command.
#include "tools/commands.hpp"

#include "revnet/engine/memory_ledger.hpp"
#include "engine/vulkan_error.hpp"
#include "revnet/training/mpi_communicator.hpp"

#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: revnet <command> [options]\n"
    "\n"
    "Trains reversible residual networks (RevNets) on any Vulkan device.\n"
    "\n"
    "commands:\n"
    "  train     train a model (default: a small RevNet on Fashion-MNIST)\n"
    "  eval      test loss and accuracy of a checkpoint\n"
    "  report    several runs side by side: one chart of their curves and a table of final figures\n"
    "  memory    the device memory a training run plans, and the largest batch a budget allows\n"
    "  demo      'demo memory': peak memory against depth for ResNets and RevNets, with a chart\n"
    "  devices   list Vulkan devices with the limits the engine relies on\n"
    "  selftest  check every kernel and a few training steps on this device (first time on a GPU?)\n"
    "  smoke     run every engine kernel once on the chosen device and check the results\n"
    "  bench     measure the device's peaks, the kernels, and whole training steps\n"
    "  models    the models and their parameter counts, layers, and a reconstruction check\n"
    "\n"
    "Run 'revnet <command> --help' for a command's options.\n"
    "Environment: REVNET_DEVICE, REVNET_VALIDATION (0, 1, sync), REVNET_FORCE_STAGING,\n"
    "REVNET_LIMITS (lower device limits: name=value,... or minimum), REVNET_VARIANT (cpu, gpu),\n"
    "REVNET_PIPELINE_CACHE (a file, or none).\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace revnet;
    // Line by line even into a file or pipe, so that a log keeps errors beside what led to them.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    // Past a file size limit (ulimit -f) a write then fails with EFBIG, which a save reports and
    // survives like a full disk, instead of the default SIGXFSZ killing the process mid-save.
    std::signal(SIGXFSZ, SIG_IGN);
    std::vector<std::string> words(argv + 1, argv + argc);
    if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
        std::fputs(kUsage, words.empty() ? stderr : stdout);
        return words.empty() ? 2 : 0;
    }
    const std::string command = words[0];
    cli::Arguments args({words.begin() + 1, words.end()});
    // Under mpirun (or srun), `train` runs as one of several processes.
    std::unique_ptr<training::MpiCommunicator> processes;
    // An error in one process must end them all: the others would wait for it in a collective.
    // Usage errors are every process's alike: the first process alone reports them.
    auto fail = [&](int code, bool everyProcessAlike, const char* format, const char* what) {
        const bool several = processes && processes->size() > 1;
        if (!several || !everyProcessAlike || processes->rank() == 0) {
            if (several) std::fprintf(stderr, "revnet %s (process %u of %u): ", command.c_str(), processes->rank(), processes->size());
            else std::fprintf(stderr, "revnet %s: ", command.c_str());
            std::fprintf(stderr, format, what, command.c_str());
        }
        if (several) processes->abort(code);
        return code;
    };
    try {
        if (command == "train" && training::MpiCommunicator::launched())
            processes = std::make_unique<training::MpiCommunicator>();
        if (command == "devices") return cli::devicesCommand(args);
        if (command == "smoke") return cli::smokeCommand(args);
        if (command == "bench") return cli::benchCommand(args);
        if (command == "models") return cli::modelsCommand(args);
        if (command == "train") return cli::trainCommand(args, processes.get());
        if (command == "eval") return cli::evalCommand(args);
        if (command == "report") return cli::reportCommand(args);
        if (command == "memory") return cli::memoryCommand(args);
        if (command == "demo") return cli::demoCommand(args);
        if (command == "selftest") return cli::selftestCommand(args);
        std::fprintf(stderr, "revnet: unknown command '%s'\n\n%s", command.c_str(), kUsage);
        return 2;
    } catch (const cli::UsageError& e) {
        return fail(2, true, "%s (see 'revnet %s --help')\n", e.what());
    } catch (const BudgetExceeded& e) {
        return fail(3, true, "%s\n", e.what());
    } catch (const std::bad_alloc&) {
        return fail(1, false, "error: out of host memory%s\n", "");
    } catch (const std::exception& e) {
        return fail(1, false, "error: %s\n", e.what());
    }
}
