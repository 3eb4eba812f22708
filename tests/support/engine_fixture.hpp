#pragma once

// What the engine's integration tests that drive one merchant's payments
// through paymentsd and the psp-sandbox binary share: reading a string
// member of a JSON answer, and a fixture base (a scratch database, a
// merchant, the sandbox and the engine on a port chosen before either
// starts, so each can be told where the other's webhooks go) whose
// derived fixtures add only their PSP's steps and their engine's
// environment.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "net/http_client.hpp"
#include "tests/support/harness.hpp"

namespace pay::test {

/// The string member `field` of `v`; fails the running test when `v` has no
/// such member or it is not a string.
std::string str(const rapidjson::Value& v, const char* field);

}  // namespace pay::test

#ifdef PSP_SANDBOX_BIN

#include "tests/support/sandbox_process.hpp"

namespace pay::test {

/// One merchant's engine beside the real psp-sandbox, against a scratch
/// database: the sandbox runs from construction, the engine from the
/// derived fixture's first start_engine. Members are destroyed in reverse:
/// the engine stops first, so it never runs with its PSP gone or its
/// database dropped; the sandbox stops next, then the database is dropped.
struct merchant_engine {
  scratch_database db;
  test_merchant merchant;
  /// The engine's port, fixed before the sandbox starts (its webhooks go
  /// there) and kept across restarts.
  std::uint16_t port = free_port();
  /// "http://127.0.0.1:<port>".
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  sandbox_process sandbox;
  std::unique_ptr<engine_process> engine;

  /// A merchant named `merchant_name`, and the sandbox sending its
  /// Stripe-format webhooks, signed with `webhook_secret`, to the engine's
  /// /v1/webhooks/sandbox. `sandbox_webhooks` maps more of the sandbox's
  /// variables to engine paths (e.g. SANDBOX_ADYEN_WEBHOOK_URL to
  /// /v1/webhooks/adyen); `sandbox_args` go on its command line.
  merchant_engine(const std::string& merchant_name, const std::string& webhook_secret,
                  const std::map<std::string, std::string>& sandbox_webhooks,
                  std::vector<std::string> sandbox_args = {});
  merchant_engine(const merchant_engine&) = delete;
  merchant_engine& operator=(const merchant_engine&) = delete;

  /// Stops the running engine, if any, and starts one with `env` (which
  /// must name PAYMENTS_PORT = `port` for the sandbox's webhooks to reach
  /// it), ready to serve when it returns.
  void start_engine(const std::map<std::string, std::string>& env);

  /// POSTs `json` to the engine with the merchant's key, and with
  /// `idempotency_key` as Idempotency-Key unless it is empty.
  net::client_result post(const std::string& path, const std::string& json,
                          const std::string& idempotency_key = {});

  /// GETs `path` with the merchant's key; fails the test unless it answers
  /// 200 with JSON.
  rapidjson::Document get(const std::string& path);

  /// Creates a payment intent from `json` with `idempotency_key` (a fresh
  /// one when empty); fails the test unless it answers 200.
  rapidjson::Document create(const std::string& json, const std::string& idempotency_key = {});

  /// Whether intent `id` reaches `status` within 20 s.
  bool status_becomes(const std::string& id, const std::string& status);

  /// How many ledger transactions of `kind` intent `id` has.
  std::int64_t journals(const std::string& id, const std::string& kind);

  /// Every ledger entry of every currency sums to zero (debits = credits).
  bool books_balance();
};

}  // namespace pay::test

#endif  // PSP_SANDBOX_BIN
