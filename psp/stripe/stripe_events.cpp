#include "psp/stripe/stripe_events.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/limits.hpp"
#include "net/json.hpp"
#include "psp/stripe/stripe_connector.hpp"
#include "psp/stripe/stripe_mapping.hpp"

namespace pay::psp {

using namespace pay::net;

std::optional<core::psp_event> parse_stripe_event(std::string_view body) {
  rapidjson::Document doc;
  if (parse_json_object(body, doc) != json_error::none) return std::nullopt;
  auto string_at = [](const rapidjson::Value& v, const char* name) -> std::optional<std::string> {
    auto it = v.FindMember(name);
    if (it == v.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto id = string_at(doc, "id");
  auto type = string_at(doc, "type");
  auto data = doc.FindMember("data");
  if (!id || !type || data == doc.MemberEnd() || !data->value.IsObject()) return std::nullopt;
  auto object = data->value.FindMember("object");
  if (object == data->value.MemberEnd() || !object->value.IsObject()) return std::nullopt;
  auto object_id = string_at(object->value, "id");
  if (!object_id) return std::nullopt;

  core::psp_event event;
  event.id = *id;
  event.psp_type = *type;
  event.object_id = *object_id;
  auto object_type = string_at(object->value, "object").value_or("");
  if (auto created = doc.FindMember("created");
      created != doc.MemberEnd() && created->value.IsInt64())
    event.created = created->value.GetInt64();
  if (object_type == "payment_intent") {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    object->value.Accept(w);
    std::string error;
    event.intent = parse_stripe_intent({buffer.GetString(), buffer.GetSize()}, error);
    if (!event.intent) return std::nullopt;
  } else if (object_type == "refund") {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    object->value.Accept(w);
    std::string error;
    event.refund = parse_stripe_refund({buffer.GetString(), buffer.GetSize()}, error);
    if (!event.refund || event.refund->payment_intent.empty()) return std::nullopt;
  } else if (object_type == "dispute") {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    object->value.Accept(w);
    std::string error;
    event.dispute = parse_stripe_dispute({buffer.GetString(), buffer.GetSize()}, error);
    if (!event.dispute) return std::nullopt;
  }
  event.kind = stripe_event_kind(event.psp_type, object_type);
  event.payload = std::string(body);
  return event;
}

}  // namespace pay::psp
