#include "net/json.hpp"

#include <algorithm>
#include <vector>

#include "core/utf8.hpp"

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

json_error check_string(std::string_view s) {
  switch (core::check_text(s)) {
    case core::text_verdict::ok:
      return json_error::none;
    case core::text_verdict::invalid_utf8:
      return json_error::invalid_utf8;
    case core::text_verdict::contains_nul:
      return json_error::nul_in_string;
  }
  return json_error::invalid_utf8;
}

std::string join_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

/// Checks every string and key under `v` (depth is already bounded) and
/// refuses repeated keys; sorting makes the duplicate check O(n log n), so a
/// body of thousands of keys costs no quadratic time.
json_error check_value(const rapidjson::Value& v, const std::string& path, std::string* where) {
  auto fail = [where](json_error e, std::string at) {
    if (where != nullptr) *where = std::move(at);
    return e;
  };
  if (v.IsString()) {
    auto e = check_string({v.GetString(), v.GetStringLength()});
    return e == json_error::none ? e : fail(e, path);
  }
  if (v.IsArray()) {
    std::size_t i = 0;
    for (const auto& item : v.GetArray()) {
      auto e = check_value(item, path + "[" + std::to_string(i++) + "]", where);
      if (e != json_error::none) return e;
    }
    return json_error::none;
  }
  if (!v.IsObject()) return json_error::none;
  std::vector<std::string_view> keys;
  keys.reserve(v.MemberCount());
  for (const auto& m : v.GetObject()) {
    std::string_view key(m.name.GetString(), m.name.GetStringLength());
    // The key's own text first: a path built from bad bytes would carry them.
    if (auto e = check_string(key); e != json_error::none) return fail(e, path);
    keys.push_back(key);
    if (auto e = check_value(m.value, join_path(path, key), where); e != json_error::none) return e;
  }
  std::sort(keys.begin(), keys.end());
  auto dup = std::adjacent_find(keys.begin(), keys.end());
  if (dup != keys.end()) return fail(json_error::duplicate_key, join_path(path, *dup));
  return json_error::none;
}

}  // namespace

json_error parse_json_object(std::string_view text, rapidjson::Document& doc, std::size_t depth_max,
                             std::string* where) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json_error::empty;
  if (nesting_depth(text) > depth_max) return json_error::too_deep;
  // The default mode also refuses anything but whitespace after the value.
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) return json_error::syntax;
  if (!doc.IsObject()) return json_error::not_an_object;
  return check_value(doc, "", where);
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
    case json_error::invalid_utf8:
      return "A string in the JSON body is not valid UTF-8 (an invalid byte sequence or a lone "
             "surrogate escape such as \\udc00).";
    case json_error::nul_in_string:
      return "A string in the JSON body contains a NUL character (\\u0000), which is not "
             "allowed.";
    case json_error::duplicate_key:
      return "The JSON body names the same key twice.";
  }
  return "invalid JSON";
}

std::string describe(json_error e, std::string_view where) {
  std::string out(describe(e));
  if (!where.empty() && (e == json_error::invalid_utf8 || e == json_error::nul_in_string ||
                         e == json_error::duplicate_key)) {
    out.pop_back();  // the full stop
    // The path is valid UTF-8 by construction (a key with bad bytes is
    // reported at its parent), so it can be quoted back.
    out += " (at '" + std::string(where) + "').";
  }
  return out;
}

std::string_view error_code(json_error e) {
  switch (e) {
    case json_error::too_deep:
      return "json_too_deep";
    case json_error::invalid_utf8:
      return "invalid_utf8";
    case json_error::nul_in_string:
      return "invalid_string_nul";
    case json_error::duplicate_key:
      return "duplicate_key";
    case json_error::none:
    case json_error::empty:
    case json_error::syntax:
    case json_error::not_an_object:
      return "invalid_json";
  }
  return "invalid_json";
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
