// What every operation needs to know about who runs it, passed in by the
// interface layer (ops never read the environment or the terminal).
#pragma once

#include <cstdint>
#include <string>

#include "util/cancel.h"

namespace lifeboat::ops {

struct OpContext {
  std::string hostname;
  std::string username;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t pid = 0;
  bool is_root = false;
  CancelToken* cancel = nullptr;  // may be null: not cancellable

  bool cancelled() const { return cancel && cancel->cancelled(); }
};

}  // namespace lifeboat::ops
