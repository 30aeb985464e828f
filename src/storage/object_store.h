// What the object-store drivers (S3, Azure) share beyond HTTP: the checks
// that keep a damaged or cut-off response from being taken as an answer,
// and the range header arithmetic. Each check is a `validate` for
// HttpClient::perform_with_retry: kUnavailable makes it retry.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/backend.h"
#include "storage/http.h"
#include "storage/xml.h"

namespace lifeboat::storage {

using ResponseCheck = std::function<Status(const HttpResponse&)>;

// A 200 must carry whole, well-formed XML, parsed into `out` (a listing cut
// off on the way fails to parse and is retried).
ResponseCheck xml_into(XmlElements& out);

// A 200/206 to a read of `name` at `offset` must be as long as it says and
// start where asked; a 200 to a ranged read (the server ignored the range)
// is accepted only from offset 0.
ResponseCheck whole_read(std::string_view name, uint64_t offset);

// "bytes=OFFSET-LAST" for Range / x-ms-range ("bytes=OFFSET-" to the end);
// length is not 0.
std::string byte_range(uint64_t offset, uint64_t length);

// The response of a read, as read_into() returns it: 416 (at or past the
// end) is an empty read, and a whole object sent for a ranged read from 0 is
// cut to `length`. Other statuses are for the caller.
bool take_read_body(HttpResponse& r, uint64_t length, Bytes& out);

// The fields of one kind of listing response, as paths in it.
struct ListingFields {
  std::string entry;          // "ListBucketResult/Contents": closes after its fields
  std::string name;           // "ListBucketResult/Contents/Key"
  std::string size;           // "ListBucketResult/Contents/Size"
  std::string storage_class;  // "ListBucketResult/Contents/StorageClass"
  bool (*archived)(std::string_view storage_class);
  std::string modified;       // "ListBucketResult/Contents/LastModified" (ISO 8601 or RFC 1123)
};

// Seconds since the epoch (as nanoseconds) of an ISO 8601 UTC time
// ("2026-11-22T07:31:39.000Z") or an RFC 1123 one ("Sun, 22 Nov 2026
// 07:31:39 GMT"); 0 when it is neither.
int64_t parse_http_time(std::string_view text);

// Appends the objects of one listing page to `out`: keys under the
// container's `prefix`, with it stripped, that are valid object names.
void collect_listing(const XmlElements& page, const ListingFields& fields, std::string_view prefix,
                     std::vector<ObjectInfo>& out);

// create()'s last step: kAlreadyExists when the location holds objects.
Status require_empty(Backend& backend);

// The value of environment variable `name`, empty when it is unset.
std::string env(const char* name);

}  // namespace lifeboat::storage
