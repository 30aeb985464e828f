// MongoDB's own tools (mongodump, mongorestore from the MongoDB Database
// Tools, which Debian does not package). The connection string, which may
// hold a password, reaches them through a private YAML file (--config,
// Database Tools 100.3+), never through their command line.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace lifeboat::sources::mongo {

// kNotFound, saying where the tools come from, when `tool` is not in PATH.
Status require_tool(const std::string& tool);

// The URI without its password, for messages and snapshot metadata.
std::string redact_uri(const std::string& uri);

// A file holding `uri: "<uri>"` in a new private directory under `tmp_root`
// ("" : /tmp), removed by the destructor.
class ToolConfig {
 public:
  static Result<std::unique_ptr<ToolConfig>> create(const std::string& uri, const std::string& tmp_root);
  ~ToolConfig();
  ToolConfig(const ToolConfig&) = delete;
  ToolConfig& operator=(const ToolConfig&) = delete;
  // "--config=<path>", or nothing when there is no URI (the tools' default
  // server, mongodb://localhost:27017).
  std::vector<std::string> args() const;

 private:
  ToolConfig() = default;
  std::string dir_;
  std::string path_;
};

}  // namespace lifeboat::sources::mongo
