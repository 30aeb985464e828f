// The small XML responses of object stores (S3 and Azure listings, error
// bodies), parsed with expat into (path, text) pairs.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::storage {

// The text of every element, by its path ("ListBucketResult/Contents/Key"),
// in document order (an element is listed when it closes). Enough for the
// flat responses of S3 and Azure.
struct XmlElements {
  std::vector<std::pair<std::string, std::string>> items;

  // The text of the first element at `path`, or "" when there is none.
  std::string value(std::string_view path) const;
};

// kUnavailable for malformed (e.g. truncated) XML, so a retry loop repeats it.
Result<XmlElements> parse_xml(ByteSpan body);

}  // namespace lifeboat::storage
