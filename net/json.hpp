#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/limits.hpp"

/// JSON in and out with RapidJSON: a small streaming writer and a parser that
/// refuses documents nested deeper than a named limit.
namespace pay::net {

/// Streams one JSON document into a string. Keys and strings are escaped;
/// numbers are integers only (money is never a float here).
class json_writer {
 public:
  json_writer() : writer_(buffer_) {}

  void begin_object() { writer_.StartObject(); }
  void end_object() { writer_.EndObject(); }
  void begin_array() { writer_.StartArray(); }
  void end_array() { writer_.EndArray(); }
  void key(std::string_view k) {
    writer_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
  }
  void value(std::string_view v) {
    writer_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  }
  void value(const char* v) { value(std::string_view{v}); }
  void value(const std::string& v) { value(std::string_view{v}); }
  void value(std::int64_t v) { writer_.Int64(v); }
  void value(std::int32_t v) { writer_.Int(v); }
  void value(std::uint64_t v) { writer_.Uint64(v); }
  void value(std::uint32_t v) { writer_.Uint(v); }
  void value(bool v) { writer_.Bool(v); }
  void null() { writer_.Null(); }
  /// Inserts an already-serialised JSON value verbatim.
  void raw(std::string_view json) {
    writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  }

  template <class T>
  void field(std::string_view k, const T& v) {
    key(k);
    value(v);
  }
  void field_null(std::string_view k) {
    key(k);
    null();
  }
  template <class T>
  void field_optional(std::string_view k, const std::optional<T>& v) {
    key(k);
    if (v)
      value(*v);
    else
      null();
  }

  /// Returns the document; the writer is spent afterwards.
  std::string take() { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  rapidjson::StringBuffer buffer_;
  rapidjson::Writer<rapidjson::StringBuffer> writer_;
};

/// Why a body is not acceptable JSON.
enum class json_error {
  none,
  empty,
  too_deep,
  syntax,
  not_an_object,
  invalid_utf8,   ///< a string (or key) is not UTF-8, or holds a lone surrogate escape
  nul_in_string,  ///< a string (or key) holds U+0000 (raw or as \u0000)
  duplicate_key,  ///< an object names one key twice
};

/// Parses `text` into `doc`; refuses nesting deeper than `depth_max` before
/// handing anything to the parser. Every string and key must then be
/// well-formed UTF-8 without NUL (PostgreSQL stores neither), and no object
/// may repeat a key (which one wins would be a guess, and the idempotency
/// fingerprint would differ from what was applied). When `where` is given,
/// it receives the path of the offending string or key (`metadata.order`).
json_error parse_json_object(std::string_view text, rapidjson::Document& doc,
                             std::size_t depth_max = core::limits::json_depth_max,
                             std::string* where = nullptr);

/// The message for a json_error, for the client.
std::string_view describe(json_error e);

/// The message for a json_error with the path `parse_json_object` found.
std::string describe(json_error e, std::string_view where);

/// The machine-readable error code the API answers for a json_error.
std::string_view error_code(json_error e);

/// The canonical form of a JSON value: objects with keys sorted, no spaces.
/// Two bodies that mean the same have the same canonical form, which is what
/// idempotency fingerprints hash.
std::string canonical_json(const rapidjson::Value& v);

/// Escapes a string as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

}  // namespace pay::net
