// Object-name rules every driver enforces (backend.h): relative '/'-separated
// paths with no empty, "." or ".." component and no component starting with
// the drivers' temporary-file prefix. A name that breaks them never reaches
// the store, so no read, write or listing can step outside it.
#pragma once

#include <string_view>

#include "util/status.h"

namespace lifeboat::storage {

// Hidden temporaries (an interrupted local write) start with this.
inline constexpr std::string_view kTempPrefix = ".tmp-";

bool valid_object_name(std::string_view name);

// A list() prefix: "" or the start of a valid name (it may end in '/').
// No object starts with any other prefix, so list() returns nothing for it.
bool valid_list_prefix(std::string_view prefix);

// kInvalidArgument: invalid object name "NAME".
Status invalid_object_name(std::string_view name);

}  // namespace lifeboat::storage
