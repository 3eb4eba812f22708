#include "net/json.hpp"

#include <algorithm>
#include <vector>

namespace pay::net {

namespace {

/// Counts the deepest nesting of objects and arrays, skipping strings, so a
/// hostile body cannot drive the parser's recursion.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth > deepest) deepest = depth;
        break;
      case '}':
      case ']':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

}  // namespace

json_error parse_json_object(std::string_view text, rapidjson::Document& doc,
                             std::size_t depth_max) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json_error::empty;
  if (nesting_depth(text) > depth_max) return json_error::too_deep;
  // The default mode also refuses anything but whitespace after the value.
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) return json_error::syntax;
  if (!doc.IsObject()) return json_error::not_an_object;
  return json_error::none;
}

std::string_view describe(json_error e) {
  switch (e) {
    case json_error::none:
      return "ok";
    case json_error::empty:
      return "The request body is empty; a JSON object was expected.";
    case json_error::too_deep:
      return "The JSON body is nested deeper than allowed.";
    case json_error::syntax:
      return "The request body is not valid JSON.";
    case json_error::not_an_object:
      return "The request body must be a JSON object.";
  }
  return "invalid JSON";
}

namespace {

void write_canonical(rapidjson::Writer<rapidjson::StringBuffer>& w, const rapidjson::Value& v) {
  if (v.IsObject()) {
    std::vector<const rapidjson::Value::Member*> members;
    for (const auto& m : v.GetObject()) members.push_back(&m);
    std::sort(members.begin(), members.end(), [](auto* a, auto* b) {
      return std::string_view(a->name.GetString(), a->name.GetStringLength()) <
             std::string_view(b->name.GetString(), b->name.GetStringLength());
    });
    w.StartObject();
    for (auto* m : members) {
      w.Key(m->name.GetString(), m->name.GetStringLength());
      write_canonical(w, m->value);
    }
    w.EndObject();
  } else if (v.IsArray()) {
    w.StartArray();
    for (const auto& item : v.GetArray()) write_canonical(w, item);
    w.EndArray();
  } else {
    v.Accept(w);
  }
}

}  // namespace

std::string canonical_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  write_canonical(w, v);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string json_quote(std::string_view s) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace pay::net
