#pragma once

/// Idempotency keys: validation, request fingerprints, recovery points.
///
/// A stored key remembers the fingerprint of the request that first used it
/// and how far that request got, so a retry either replays the answer,
/// resumes from the recovery point, or is refused as a different request.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pay::core {

/// How far a request under an idempotency key got; a retry after a crash
/// resumes from here.
enum class recovery_point : std::uint8_t {
  /// The key is stored; nothing external happened yet.
  started,
  /// The operation was admitted (validated against the intent) and the PSP
  /// is about to be called with the key's PSP key: a retry must finish it by
  /// calling the PSP again with the same key, never decide afresh.
  psp_requested,
  /// The PSP was called (with the same idempotency key, so calling it again
  /// cannot create a second payment).
  psp_called,
  /// The response is stored; retries replay it.
  finished,
};

/// Every recovery point, in the order a request passes them.
inline constexpr std::array all_recovery_points{
    recovery_point::started, recovery_point::psp_requested, recovery_point::psp_called,
    recovery_point::finished};

/// The operation an idempotency key runs, recorded with its admission so a
/// retry finishes the same operation with the same parameters.
enum class operation_kind : std::uint8_t { create, capture, cancel, refund };

/// "create", "capture", "cancel", "refund".
std::string_view to_string(operation_kind kind);

/// The operation named `name`, or nothing.
std::optional<operation_kind> parse_operation_kind(std::string_view name);

/// This process's identity as a holder of idempotency leases: the program,
/// its pid and a random part, fixed for the process's life. Storage
/// connections carry it as PostgreSQL's application_name, so a lease whose
/// holder has no connection left (the process died) is taken over at once.
const std::string& instance_id();

/// The name of `point`, identical to the enumerator's name.
std::string_view to_string(recovery_point point);

/// The recovery point named `name` (exact, lowercase), or nothing.
std::optional<recovery_point> parse_recovery_point(std::string_view name);

/// The fingerprint of a request: sha256_hex(method + "\n" + path + "\n" +
/// canonical_body), 64 lowercase hex characters.
///
/// The same key with a different fingerprint is a different request (422).
std::string request_fingerprint(std::string_view method, std::string_view path,
                                std::string_view canonical_body);

/// True for a usable Idempotency-Key: 1 to `limits::idempotency_key_length_max`
/// characters, each printable ASCII without space (0x21 to 0x7e).
bool valid_idempotency_key(std::string_view key);

}  // namespace pay::core
