#include "sources/mongo/mongo_tools.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include <fmt/format.h>

#include "util/posix_error.h"
#include "util/subprocess.h"

namespace lifeboat::sources::mongo {

Status require_tool(const std::string& tool) {
  if (!find_program(tool).empty()) return Status::ok();
  return Status(ErrorCode::kNotFound,
                fmt::format("{} was not found: install the MongoDB Database Tools (not packaged by Debian: "
                            "https://www.mongodb.com/try/download/database-tools) or put {} in PATH",
                            tool, tool));
}

std::string redact_uri(const std::string& uri) {
  // mongodb://user:password@host/... -> mongodb://user@host/...
  auto scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  size_t start = scheme + 3;
  size_t end = uri.find_first_of("/?", start);
  std::string authority = uri.substr(start, end == std::string::npos ? std::string::npos : end - start);
  auto at = authority.rfind('@');
  if (at == std::string::npos) return uri;
  std::string userinfo = authority.substr(0, at);
  auto colon = userinfo.find(':');
  if (colon == std::string::npos) return uri;
  return uri.substr(0, start) + userinfo.substr(0, colon) + authority.substr(at) +
         (end == std::string::npos ? "" : uri.substr(end));
}

Result<std::unique_ptr<ToolConfig>> ToolConfig::create(const std::string& uri, const std::string& tmp_root) {
  std::unique_ptr<ToolConfig> c(new ToolConfig());
  if (uri.empty()) return c;
  std::string tmpl = (tmp_root.empty() ? std::string("/tmp") : tmp_root) + "/lifeboat-mongo-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return posix_error(errno, "unable to create a private directory in " + tmp_root);
  c->dir_ = tmpl;
  c->path_ = tmpl + "/tools.yaml";
  // A YAML double-quoted string.
  std::string text = "uri: \"";
  for (char ch : uri) {
    if (ch == '"' || ch == '\\') text.push_back('\\');
    text.push_back(ch);
  }
  text += "\"\n";
  int fd = ::open(c->path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return posix_error(errno, "unable to create " + c->path_);
  ssize_t n = ::write(fd, text.data(), text.size());
  int e = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return posix_error(n < 0 ? e : EIO, "unable to write " + c->path_);
  return c;
}

ToolConfig::~ToolConfig() {
  if (!path_.empty()) ::unlink(path_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

std::vector<std::string> ToolConfig::args() const {
  if (path_.empty()) return {};
  return {"--config=" + path_};
}

}  // namespace lifeboat::sources::mongo
