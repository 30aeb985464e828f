#include "interfaces/cli/cli.h"

int main(int argc, char** argv) { return lifeboat::cli::run(argc, argv); }
