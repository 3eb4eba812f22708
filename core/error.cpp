#include "core/error.hpp"

#include <cstdio>
#include <cstdlib>

namespace pay::core {

namespace {

/// Reached only for a value outside the enum, i.e. memory corruption or a bad
/// cast: a programmer error, so stop rather than guess.
[[noreturn]] void invalid_errc(errc code) {
  std::fprintf(stderr, "pay::core: invalid errc value %d\n", static_cast<int>(code));
  std::abort();
}

}  // namespace

std::string_view to_string(errc code) {
  switch (code) {
    case errc::invalid_request:
      return "invalid_request";
    case errc::unauthorized:
      return "unauthorized";
    case errc::not_found:
      return "not_found";
    case errc::invalid_state:
      return "invalid_state";
    case errc::idempotency_key_reuse:
      return "idempotency_key_reuse";
    case errc::idempotency_in_flight:
      return "idempotency_in_flight";
    case errc::version_conflict:
      return "version_conflict";
    case errc::psp_unavailable:
      return "psp_unavailable";
    case errc::psp_error:
      return "psp_error";
    case errc::card_declined:
      return "card_declined";
    case errc::storage_unavailable:
      return "storage_unavailable";
    case errc::limit_exceeded:
      return "limit_exceeded";
    case errc::internal:
      return "internal";
    case errc::overloaded:
      return "overloaded";
    case errc::already_processed:
      return "already_processed";
  }
  invalid_errc(code);
}

int http_status(errc code) {
  switch (code) {
    case errc::invalid_request:
      return 400;
    case errc::unauthorized:
      return 401;
    case errc::not_found:
      return 404;
    case errc::invalid_state:
      // Stripe answers 400 for an action the object's state does not allow.
      return 400;
    case errc::idempotency_key_reuse:
      return 422;
    case errc::idempotency_in_flight:
      return 409;
    case errc::version_conflict:
      return 409;
    case errc::psp_unavailable:
      return 503;
    case errc::psp_error:
      return 502;
    case errc::card_declined:
      return 402;
    case errc::storage_unavailable:
      return 503;
    case errc::limit_exceeded:
      // 413 is for bodies only, and the HTTP layer answers that itself.
      return 400;
    case errc::internal:
      return 500;
    case errc::overloaded:
      return 503;
    case errc::already_processed:
      // Never answered to a client (the inbox's own signal); a conflict if it were.
      return 409;
  }
  invalid_errc(code);
}

std::string_view error_type(errc code) {
  switch (code) {
    case errc::invalid_request:
    case errc::not_found:
    case errc::invalid_state:
    case errc::limit_exceeded:
      return "invalid_request_error";
    case errc::unauthorized:
      return "authentication_error";
    case errc::idempotency_key_reuse:
    case errc::idempotency_in_flight:
      return "idempotency_error";
    case errc::card_declined:
      return "card_error";
    case errc::version_conflict:
    case errc::psp_unavailable:
    case errc::psp_error:
    case errc::storage_unavailable:
    case errc::internal:
    case errc::overloaded:
    case errc::already_processed:
      return "api_error";
  }
  invalid_errc(code);
}

}  // namespace pay::core
