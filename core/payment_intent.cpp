#include "core/payment_intent.hpp"

namespace pay::core {

std::string_view to_string(capture_method m) {
  switch (m) {
    case capture_method::automatic:
      return "automatic";
    case capture_method::manual:
      return "manual";
  }
  return "automatic";
}

std::optional<capture_method> parse_capture_method(std::string_view s) {
  if (s == "automatic") return capture_method::automatic;
  if (s == "manual") return capture_method::manual;
  return std::nullopt;
}

std::string_view to_string(refund_status s) {
  switch (s) {
    case refund_status::pending:
      return "pending";
    case refund_status::succeeded:
      return "succeeded";
    case refund_status::failed:
      return "failed";
    case refund_status::canceled:
      return "canceled";
  }
  return "pending";
}

}  // namespace pay::core
