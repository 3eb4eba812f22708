#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/json_text.hpp"
#include "core/log.hpp"
#include "core/outbound_events.hpp"

using namespace pay::core;

namespace {

payment_intent intent(intent_status status, std::int64_t version) {
  payment_intent pi;
  pi.id = "pi_000000000000000000000001";
  pi.merchant_id = "mch_1";
  pi.status = status;
  pi.amount = 5000;
  pi.currency = "eur";
  pi.psp = "sandbox";
  pi.version = version;
  pi.created = 1764036000;
  return pi;
}

audit_event step(std::string action, std::optional<intent_status> from,
                 std::optional<intent_status> to) {
  audit_event a;
  a.actor = "psp";
  a.action = std::move(action);
  a.from = from;
  a.to = to;
  return a;
}

std::vector<std::string> types(const std::vector<outbound_event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.emplace_back(to_string(e.type));
  return out;
}

}  // namespace

TEST_CASE("An automatic capture recorded as two transitions makes authorized then captured") {
  auto after = intent(intent_status::captured, 2);
  std::vector<audit_event> steps{
      step("authorized", intent_status::created, intent_status::authorized),
      step("capture", intent_status::authorized, intent_status::captured)};
  auto events = outbound_events_for(after, steps, std::nullopt, 1764036100);
  CHECK(types(events) ==
        std::vector<std::string>{"payment_intent.authorized", "payment_intent.captured"});
  for (const auto& e : events) {
    CHECK(e.id.starts_with("evt_"));
    CHECK(e.merchant_id == "mch_1");
    CHECK(e.object_id == after.id);
    CHECK(e.object_version == 2);
    CHECK(e.created == 1764036100);
  }
  CHECK(events[0].id != events[1].id);
  CHECK(events[0].dedupe_key != events[1].dedupe_key);
}

TEST_CASE("Creating an intent or an ignored PSP event or a refund's intent move makes no event") {
  auto after = intent(intent_status::created, 0);
  CHECK(outbound_events_for(after,
                            std::vector{step("create", std::nullopt, intent_status::created)},
                            std::nullopt, 1)
            .empty());
  CHECK(outbound_events_for(after, std::vector{step("ignored", std::nullopt, std::nullopt)},
                            std::nullopt, 1)
            .empty());
  auto refunded = intent(intent_status::partially_refunded, 4);
  CHECK(outbound_events_for(refunded,
                            std::vector{step("refund_partial", intent_status::captured,
                                             intent_status::partially_refunded)},
                            std::nullopt, 1)
            .empty());
}

TEST_CASE(
    "A failed refund returning the intent to captured is no new capture, refund.failed tells it") {
  auto after = intent(intent_status::captured, 6);
  refund r;
  r.id = "re_000000000000000000000002";
  r.merchant_id = "mch_1";
  r.intent_id = after.id;
  r.amount = 1000;
  r.currency = "eur";
  r.status = "failed";
  CHECK(types(outbound_events_for(
            after,
            std::vector{step("refund_failed", intent_status::refunded, intent_status::captured)}, r,
            1)) == std::vector<std::string>{"refund.failed"});
}

TEST_CASE("A decline and 3-D Secure and a cancel and an expiry each make their event") {
  auto after = intent(intent_status::created, 3);
  CHECK(types(outbound_events_for(
            after,
            std::vector{step("payment_failed", intent_status::processing, intent_status::created)},
            std::nullopt, 1)) == std::vector<std::string>{"payment_intent.payment_failed"});
  CHECK(types(outbound_events_for(after,
                                  std::vector{step("action_required", intent_status::created,
                                                   intent_status::requires_action)},
                                  std::nullopt, 1)) ==
        std::vector<std::string>{"payment_intent.requires_action"});
  CHECK(types(outbound_events_for(
            after, std::vector{step("cancel", intent_status::authorized, intent_status::canceled)},
            std::nullopt, 1)) == std::vector<std::string>{"payment_intent.canceled"});
  CHECK(types(outbound_events_for(
            after, std::vector{step("expire", intent_status::authorized, intent_status::expired)},
            std::nullopt, 1)) == std::vector<std::string>{"payment_intent.expired"});
}

TEST_CASE(
    "A refund makes refund.succeeded or refund.failed once per refund and none while pending") {
  auto after = intent(intent_status::partially_refunded, 4);
  refund r;
  r.id = "re_000000000000000000000001";
  r.merchant_id = "mch_1";
  r.intent_id = after.id;
  r.amount = 1000;
  r.currency = "eur";
  r.status = "succeeded";
  auto events = outbound_events_for(after, {}, r, 5);
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == outbound_event_type::refund_succeeded);
  CHECK(events[0].object_id == r.id);
  CHECK(events[0].dedupe_key == "refund.succeeded:" + r.id);
  CHECK(events[0].payload_json.find(R"("data":{"object":{"id":"re_000000000000000000000001")") !=
        std::string::npos);
  r.status = "failed";
  CHECK(types(outbound_events_for(after, {}, r, 5)) == std::vector<std::string>{"refund.failed"});
  r.status = "pending";
  CHECK(outbound_events_for(after, {}, r, 5).empty());
}

TEST_CASE("The event body is a versioned event object holding the intent as the API shows it") {
  auto after = intent(intent_status::authorized, 1);
  after.metadata_json = R"({"order":"1001"})";
  auto events = outbound_events_for(
      after, std::vector{step("authorized", intent_status::created, intent_status::authorized)},
      std::nullopt, 1764036100);
  REQUIRE(events.size() == 1);
  CHECK(events[0].payload_json ==
        R"({"id":")" + events[0].id +
            R"(","object":"event","type":"payment_intent.authorized","api_version":")" +
            std::string(outbound_api_version) +
            R"(","created":1764036100,"object_version":1,"data":{"object":)" +
            intent_api_json(after) + "}}");
}

TEST_CASE("Event type names parse back and the star subscribes to every type") {
  for (auto t : all_outbound_event_types()) CHECK(parse_outbound_event_type(to_string(t)) == t);
  CHECK_FALSE(parse_outbound_event_type("*"));
  CHECK_FALSE(parse_outbound_event_type("payment_intent.created"));
  std::vector<std::string> all{"*"};
  std::vector<std::string> some{"refund.failed"};
  for (auto t : all_outbound_event_types()) CHECK(subscribes(all, t));
  CHECK(subscribes(some, outbound_event_type::refund_failed));
  CHECK_FALSE(subscribes(some, outbound_event_type::refund_succeeded));
}

TEST_CASE("JSON strings are escaped as RapidJSON's writer escapes them, in events and logs alike") {
  CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_string("\n\t\r\b\f") == R"("\n\t\r\b\f")");
  CHECK(json_string(std::string("\x01\x1f", 2)) == R"("\u0001\u001F")");
  CHECK(json_string("/é") == "\"/é\"");
  // Log lines use the same escaper.
  auto line = log::format_log_line("t", log::level::info, "p", std::string("a\x01\b\"", 4), {});
  CHECK(line.find(R"("msg":"a\u0001\b\"")") != std::string::npos);
}
