#pragma once

/// The engine's one error enum, its HTTP mapping, and a small result type.
///
/// Operating errors (bad input, a PSP down, a stale version) travel as values:
/// a function that can fail returns `result<T>` or `status`. Programmer errors
/// (reading the value of a failed result) are asserted.

#include <array>
#include <cassert>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace pay::core {

/// Every error the engine reports; the names appear verbatim as the API's
/// `error.code`, so renaming one is a breaking API change.
enum class errc : std::uint8_t {
  invalid_request = 1,
  unauthorized,
  not_found,
  invalid_state,
  idempotency_key_reuse,
  idempotency_in_flight,
  version_conflict,
  psp_unavailable,
  psp_error,
  card_declined,
  storage_unavailable,
  limit_exceeded,
  internal,
  overloaded,
  /// Internal, never an API answer: the webhook inbox event was processed
  /// before (another worker finished it first), so there is nothing to do.
  already_processed,
};

/// Every error code, in declaration order, for tests and documentation.
inline constexpr std::array all_errcs{
    errc::invalid_request,
    errc::unauthorized,
    errc::not_found,
    errc::invalid_state,
    errc::idempotency_key_reuse,
    errc::idempotency_in_flight,
    errc::version_conflict,
    errc::psp_unavailable,
    errc::psp_error,
    errc::card_declined,
    errc::storage_unavailable,
    errc::limit_exceeded,
    errc::internal,
    errc::overloaded,
    errc::already_processed,
};

/// The snake_case name of `code`, identical to the enumerator's name.
std::string_view to_string(errc code);

/// The HTTP status an API answer carries for `code`.
///
/// `limit_exceeded` maps to 400: it covers request fields (metadata, list
/// limits); the HTTP layer answers 413 itself when the body is too large.
int http_status(errc code);

/// The Stripe-like `error.type` for `code`.
std::string_view error_type(errc code);

/// One operating error: what went wrong, for whom, and which request field.
struct error {
  /// What kind of error; decides the HTTP status and the API's error type.
  errc code = errc::internal;
  /// A sentence for the API client or the operator; never holds secrets.
  std::string message{};
  /// The request field at fault (Stripe's `param`), or empty.
  std::string param{};

  friend bool operator==(const error&, const error&) = default;
};

/// Either a value of type `T` or an `error`.
///
/// C++20 has no `std::expected`; this is the small subset the engine needs.
/// Reading the value of a failed result, or the error of a successful one, is
/// a programmer error and asserts.
template <class T>
class result {
 public:
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, error>, "result<error> would be ambiguous");

  /// A successful result holding `value`.
  result(T value) : data_(std::in_place_index<0>, std::move(value)) {}

  /// A failed result holding `err`.
  result(error err) : data_(std::in_place_index<1>, std::move(err)) {}

  /// A successful `status`; only available for `result<std::monostate>`.
  static result ok() requires std::is_same_v<T, std::monostate> { return result(std::monostate{}); }

  /// True when the result holds a value.
  [[nodiscard]] bool has_value() const noexcept { return data_.index() == 0; }

  /// True when the result holds a value.
  explicit operator bool() const noexcept { return has_value(); }

  /// The held value; asserts that there is one.
  T& value() & {
    assert(has_value());
    return std::get<0>(data_);
  }

  /// The held value; asserts that there is one.
  const T& value() const& {
    assert(has_value());
    return std::get<0>(data_);
  }

  /// The held value, moved out; asserts that there is one.
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(data_));
  }

  /// The held value; asserts that there is one.
  T& operator*() & { return value(); }

  /// The held value; asserts that there is one.
  const T& operator*() const& { return value(); }

  /// The held value, moved out; asserts that there is one.
  T&& operator*() && { return std::move(*this).value(); }

  /// Member access into the held value; asserts that there is one.
  T* operator->() { return &value(); }

  /// Member access into the held value; asserts that there is one.
  const T* operator->() const { return &value(); }

  /// The held error; asserts that there is one. Named `err` because `error`
  /// is the type's name.
  [[nodiscard]] const error& err() const& {
    assert(!has_value());
    return std::get<1>(data_);
  }

  /// The held error, moved out; asserts that there is one.
  [[nodiscard]] error&& err() && {
    assert(!has_value());
    return std::get<1>(std::move(data_));
  }

 private:
  std::variant<T, error> data_;
};

/// The result of an operation that produces no value: `status::ok()` or an
/// error.
using status = result<std::monostate>;

/// Shorthand for building an error: `return make_error(errc::not_found, "...")`.
inline error make_error(errc code, std::string message, std::string param = {}) {
  return error{code, std::move(message), std::move(param)};
}

}  // namespace pay::core
