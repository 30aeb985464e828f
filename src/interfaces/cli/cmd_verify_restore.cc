// Placeholder until the command lands (issue 5, in progress).
#include "interfaces/cli/cli.h"

namespace lifeboat::cli {
void add_verify_restore_command(CLI::App&, Globals&) {}
}  // namespace lifeboat::cli
