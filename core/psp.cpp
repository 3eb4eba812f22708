#include "core/psp.hpp"

namespace pay::core {

std::string_view to_string(psp_failure_kind k) {
  switch (k) {
    case psp_failure_kind::declined:
      return "declined";
    case psp_failure_kind::rejected:
      return "rejected";
    case psp_failure_kind::retryable:
      return "retryable";
  }
  return "retryable";
}

std::optional<intent_status> engine_status_of(std::string_view s) {
  if (s == "requires_payment_method" || s == "requires_confirmation") return intent_status::created;
  if (s == "requires_action") return intent_status::requires_action;
  if (s == "processing") return intent_status::processing;
  if (s == "requires_capture") return intent_status::authorized;
  if (s == "succeeded") return intent_status::captured;
  if (s == "canceled") return intent_status::canceled;
  return std::nullopt;
}

}  // namespace pay::core
