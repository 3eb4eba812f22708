// paymentsd: the engine. Composition root: reads configuration, applies the
// database migrations, starts the actor system and the HTTP server, and
// stops them in order on SIGINT or SIGTERM.

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "actors/errors.hpp"
#include "actors/storage_actor.hpp"
#include "core/backoff.hpp"
#include "core/log.hpp"
#include "core/options.hpp"
#include "net/api_error.hpp"
#include "net/api_server.hpp"
#include "net/http_server.hpp"
#include "storage/migrations.hpp"
#include "storage/pg.hpp"

namespace {

using namespace pay;

std::vector<core::option_spec> option_specs() {
  return {
      {"listen", "PAYMENTS_LISTEN", "127.0.0.1", "Address the HTTP API listens on."},
      {"port", "PAYMENTS_PORT", "8080", "TCP port of the HTTP API (0 picks a free one)."},
      {"port-file", "PAYMENTS_PORT_FILE", "",
       "Write the bound port to this file once listening (for scripts and tests)."},
      {"database-url", "PAYMENTS_DATABASE_URL", "",
       "PostgreSQL connection URL (libpq URI); it may hold a password.", true},
      {"http-threads", "PAYMENTS_HTTP_THREADS", "2", "I/O threads of the HTTP server."},
      {"actor-threads", "PAYMENTS_ACTOR_THREADS", "2", "Scheduler threads of the actor system."},
      {"storage-connections", "PAYMENTS_STORAGE_CONNECTIONS", "4",
       "Storage actors, each with its own PostgreSQL connection and thread."},
      {"startup-db-wait-ms", "PAYMENTS_STARTUP_DB_WAIT_MS", "30000",
       "How long start-up waits for the database before giving up."},
      {"drain-ms", "PAYMENTS_DRAIN_MS", std::to_string(core::limits::http_drain_ms),
       "On SIGINT/SIGTERM, time in-flight requests get to finish."},
      {"psp", "PAYMENTS_PSP", "sandbox", "Name of the PSP account new intents go to."},
      {"log-level", "PAYMENTS_LOG_LEVEL", "info", "debug, info, warn or error."},
  };
}

/// Connects and migrates, retrying with backoff while the database is not
/// up yet, for at most `wait_ms`.
bool migrate_at_startup(const std::string& url, std::int64_t wait_ms) {
  core::backoff_policy policy{core::limits::db_reconnect_backoff_base_ms,
                              core::limits::db_reconnect_backoff_ceiling_ms, 0, 0};
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (std::uint32_t attempt = 0;; ++attempt) {
    auto conn = storage::pg_connection::connect(url);
    if (conn) {
      auto report = storage::apply_migrations(*conn, storage::embedded_migrations());
      if (!report) {
        core::log::error("migration failed", {{"error", report.err().message}});
        return false;
      }
      std::string applied;
      for (int v : report->applied) applied += (applied.empty() ? "" : ",") + std::to_string(v);
      core::log::info("schema ready", {{"schema_version", std::to_string(report->schema_version)},
                                       {"applied_now", applied.empty() ? "none" : applied}});
      return true;
    }
    auto delay = core::backoff_cap_ms(policy, attempt);
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(delay) > until) {
      core::log::error("database unreachable at start-up",
                       {{"error", conn.err().message}, {"url", storage::redact_url(url)}});
      return false;
    }
    core::log::warn("waiting for the database", {{"error", conn.err().message}});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
}

int run(const core::option_values& opts) {
  const auto& url = opts.get("database-url");
  if (url.empty()) {
    core::log::error("no database configured: set PAYMENTS_DATABASE_URL or --database-url-file");
    return 2;
  }
  if (!migrate_at_startup(url, opts.get_int("startup-db-wait-ms"))) return 1;

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(opts.get_int("actor-threads")));
  cfg.add_error_category(actors::error_category,
                         [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return actors::render_caf_error(code, ctx);
                         });
  caf::actor_system sys{cfg};

  net::api_actors handles;
  handles.system = &sys;
  auto connections = std::max<std::int64_t>(1, opts.get_int("storage-connections"));
  for (std::int64_t i = 0; i < connections; ++i)
    handles.storage.push_back(actors::spawn_storage_actor(sys, url));

  net::http_server_options server_opts;
  server_opts.address = opts.get("listen");
  server_opts.port = static_cast<std::uint16_t>(opts.get_int("port"));
  server_opts.threads =
      static_cast<unsigned>(std::max<std::int64_t>(1, opts.get_int("http-threads")));
  server_opts.server_name = "paymentsd";
  server_opts.render_error = [](int status, std::string_view code, std::string_view message) {
    return net::error_response(status, status >= 500 ? "api_error" : "invalid_request_error", code,
                               message);
  };
  net::api_options api_opts;
  api_opts.psp_name = opts.get("psp");
  net::http_server server{server_opts, net::make_api_handler(handles, api_opts)};
  if (auto err = server.start(); !err.empty()) {
    core::log::error("cannot listen", {{"error", err}});
    for (auto& s : handles.storage) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto port = std::to_string(server.port());
  if (const auto& file = opts.get("port-file"); !file.empty()) {
    std::ofstream out(file + ".tmp");
    out << port << "\n";
    out.close();
    std::rename((file + ".tmp").c_str(), file.c_str());
  }
  core::log::info("listening", {{"address", server_opts.address}, {"port", port}});

  // SIGINT/SIGTERM were blocked in main before any thread started; wait here.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  core::log::info("shutting down", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"},
                                    {"in_flight", std::to_string(server.requests_in_flight())}});
  server.stop(opts.get_int("drain-ms"));
  for (auto& s : handles.storage) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  handles.storage.clear();
  core::log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals in every thread; run() waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  pay::core::log::set_program("paymentsd");
  auto specs = option_specs();
  auto opts = pay::core::parse_options(specs, {argv + 1, argv + argc}, pay::core::process_env);
  if (!opts) {
    std::cerr << "paymentsd: " << opts.err().message << "\n(see paymentsd --help)\n";
    return 2;
  }
  if (opts->help_requested()) {
    std::cout << pay::core::render_help("paymentsd",
                                        "The payments engine: checkout API, PSP webhooks, "
                                        "ledger and inspector.",
                                        specs);
    return 0;
  }
  pay::core::log::set_threshold(pay::core::log::parse_level(opts->get("log-level")));
  return run(*opts);
}
