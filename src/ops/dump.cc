#include "ops/dump.h"

#include <deque>
#include <future>

#include <fmt/format.h>

namespace lifeboat::ops {

Result<repo::Node> find_entry(const repo::Repository& repo, const repo::Snapshot& snapshot, std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  auto missing = [&] {
    return Status(ErrorCode::kNotFound, fmt::format("snapshot {} has no \"/{}\": see `lifeboat ls {}`",
                                                    snapshot.id.short_hex(), path, snapshot.id.short_hex()));
  };
  repo::Node dir;
  dir.type = repo::NodeType::kDir;
  dir.subtree = snapshot.tree;
  if (path.empty()) return dir;
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string_view name = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (dir.type != repo::NodeType::kDir || !dir.subtree) return missing();
    LB_ASSIGN_OR_RETURN(repo::Tree tree, repo.load_tree(*dir.subtree));
    auto it = std::find_if(tree.nodes.begin(), tree.nodes.end(), [&](const repo::Node& n) { return n.name == name; });
    if (it == tree.nodes.end()) return missing();
    dir = std::move(*it);
    if (end == std::string_view::npos) return dir;
    start = end + 1;
  }
}

Status write_content(const repo::Repository& repo, const repo::Node& file,
                     const std::function<Status(ByteSpan)>& sink, int ahead) {
  if (file.type != repo::NodeType::kFile)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("\"{}\" is a {}, not a file", file.name, repo::node_type_name(file.type)));
  std::deque<std::future<Result<Bytes>>> pending;
  size_t next = 0;
  auto fill = [&] {
    while (next < file.content.size() && pending.size() < static_cast<size_t>(std::max(1, ahead))) {
      repo::Id id = file.content[next++];
      pending.push_back(std::async(std::launch::async, [&repo, id] { return repo.read_blob(id); }));
    }
  };
  fill();
  while (!pending.empty()) {
    auto blob = pending.front().get();
    pending.pop_front();
    if (!blob.is_ok()) {
      for (auto& f : pending) f.wait();
      return blob.status().with_context(fmt::format("unable to read \"{}\"", file.name));
    }
    fill();
    Status s = sink(*blob);
    if (!s.is_ok()) {
      for (auto& f : pending) f.wait();
      return s;
    }
  }
  return Status::ok();
}

}  // namespace lifeboat::ops
