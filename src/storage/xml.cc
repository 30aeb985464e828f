#include "storage/xml.h"

#include <expat.h>

namespace lifeboat::storage {
namespace {

struct Parse {
  XmlElements out;
  std::vector<std::string> stack;
  std::string text;
};

void XMLCALL xml_start(void* user, const XML_Char* name, const XML_Char**) {
  auto* x = static_cast<Parse*>(user);
  x->stack.emplace_back(name);
  x->text.clear();
}

void XMLCALL xml_end(void* user, const XML_Char*) {
  auto* x = static_cast<Parse*>(user);
  std::string path;
  for (const auto& s : x->stack) path += (path.empty() ? "" : "/") + s;
  x->out.items.emplace_back(std::move(path), std::move(x->text));
  x->text.clear();
  x->stack.pop_back();
}

void XMLCALL xml_text(void* user, const XML_Char* s, int len) {
  static_cast<Parse*>(user)->text.append(s, static_cast<size_t>(len));
}

}  // namespace

std::string XmlElements::value(std::string_view path) const {
  for (const auto& [p, v] : items)
    if (p == path) return v;
  return "";
}

Result<XmlElements> parse_xml(ByteSpan body) {
  Parse x;
  XML_Parser p = XML_ParserCreate(nullptr);
  if (!p) return Status(ErrorCode::kInternal, "XML_ParserCreate failed");
  XML_SetUserData(p, &x);
  XML_SetElementHandler(p, xml_start, xml_end);
  XML_SetCharacterDataHandler(p, xml_text);
  bool ok = XML_Parse(p, reinterpret_cast<const char*>(body.data()), static_cast<int>(body.size()), 1) ==
            XML_STATUS_OK;
  std::string err = ok ? "" : XML_ErrorString(XML_GetErrorCode(p));
  XML_ParserFree(p);
  if (!ok) return Status(ErrorCode::kUnavailable, "malformed XML response: " + err);
  return std::move(x.out);
}

}  // namespace lifeboat::storage
