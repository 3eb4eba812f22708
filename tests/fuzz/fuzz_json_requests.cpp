// JSON bodies through the strict parser and every checkout request
// validator; what passes must be text PostgreSQL stores as it is.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/utf8.hpp"
#include "net/checkout_requests.hpp"
#include "net/json.hpp"

namespace {

void require_text(std::string_view s) {
  if (pay::core::check_text(s) != pay::core::text_verdict::ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  rapidjson::Document doc;
  std::string where;
  auto err = pay::net::parse_json_object(text, doc, pay::core::limits::json_depth_max, &where);
  (void)pay::net::describe(err, where);
  if (err != pay::net::json_error::none) return 0;
  // The canonical form (idempotency fingerprints) is valid JSON again. (It
  // is not always a fixed point: a huge number such as 5011...10 becomes a
  // double whose printed form re-reads to a neighbour; fingerprints are
  // computed once per request, and amounts must be integers, so no harm.)
  auto canonical = pay::net::canonical_json(doc);
  rapidjson::Document again;
  if (pay::net::parse_json_object(canonical, again, pay::core::limits::json_depth_max + 1) !=
      pay::net::json_error::none)
    __builtin_trap();

  if (auto p = pay::net::parse_create_intent(doc)) {
    if (p->amount < 1 || p->amount > pay::core::limits::amount_minor_max) __builtin_trap();
    if (p->description) {
      require_text(*p->description);
      if (pay::core::utf8_length(*p->description) > pay::core::limits::description_length_max)
        __builtin_trap();
    }
    require_text(p->metadata_json);
  }
  (void)pay::net::parse_capture(doc);
  (void)pay::net::parse_cancel(doc);
  if (auto r = pay::net::parse_refund(doc)) require_text(r->payment_intent);
  return 0;
}
