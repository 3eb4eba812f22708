#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/idempotency.hpp"
#include "storage/pg.hpp"

namespace pay::storage {

/// One request that carries an Idempotency-Key.
struct idempotency_request {
  std::string merchant_id;
  std::string key;
  std::string method;
  std::string path;
  std::string fingerprint;  ///< core::request_fingerprint of method, path, canonical body
  std::int64_t lease_ms = 0;
  /// The engine process asking (core::instance_id); empty: none recorded.
  std::string holder = {};
};

/// What to do with a request, decided atomically under the key's row lock.
enum class idempotency_state {
  fresh,     ///< first time: the caller holds the lease, starts at `started`
  resume,    ///< an earlier attempt stopped midway: the caller holds the lease
  replay,    ///< finished before: answer the stored status and body
  mismatch,  ///< the key was used for another request: 422
  in_flight  ///< another attempt holds the lease right now: 409
};

struct idempotency_record {
  idempotency_state state = idempotency_state::fresh;
  std::int64_t id = 0;
  core::recovery_point point = core::recovery_point::started;
  std::optional<std::string> intent_id;
  std::optional<std::string> refund_id;
  /// Set from psp_requested on: what was admitted, to repeat on a retry.
  std::optional<core::operation_kind> operation;
  std::optional<std::int64_t> op_amount;
  int response_status = 0;
  std::string response_body;
};

/// Claims the key for `req` (insert, or lock and inspect the existing row).
core::result<idempotency_record> idempotency_begin(pg_connection& conn,
                                                   const idempotency_request& req);

/// What an admitted operation will ask the PSP for, recorded before the
/// call (recovery point psp_requested).
struct idempotency_admission {
  std::int64_t id = 0;
  std::string intent_id;
  core::operation_kind operation = core::operation_kind::capture;
  std::optional<std::int64_t> amount;    ///< as the merchant asked; nullopt: all
  std::optional<std::string> refund_id;  ///< the engine's id of the refund being made
};

/// Moves the record to psp_requested with what was admitted; a record past
/// that point is left as it is.
core::status idempotency_admit(pg_connection& conn, const idempotency_admission& a);

/// Stores the final answer and releases the lease; later retries replay it.
core::status idempotency_finish(pg_connection& conn, std::int64_t id, int status,
                                const std::string& body);

/// Releases the lease without an answer (a retryable failure): the next
/// retry resumes from the recorded recovery point.
core::status idempotency_release(pg_connection& conn, std::int64_t id);

/// Deletes keys older than `retention_hours` (they are not ledger or audit
/// rows); returns how many went.
core::result<std::int64_t> idempotency_expire(pg_connection& conn, std::int64_t retention_hours);

}  // namespace pay::storage
