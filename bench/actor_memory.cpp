// actor_memory: resident memory of live payment intent actors.
//
// Migrates a scratch database, inserts N authorised intents with one
// statement, starts a CAF actor system with storage actors against it,
// spawns one intent actor per intent (spawn_intent_actor, with an idle time
// far beyond the run so none passivates) and waits until every actor has
// hydrated and answered a read. VmRSS from /proc/self/status before the
// actors and after; prints {"actors","rss_bytes","rss_before_bytes",
// "bytes_per_actor","psp_calls"} as JSON.
//
// Usage: actor_memory --actors N  (database URL in PAYMENTS_DATABASE_URL)

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/errors.hpp"
#include "actors/gateway_actor.hpp"
#include "actors/intent_actor.hpp"
#include "actors/storage_actor.hpp"
#include "storage/merchants.hpp"
#include "storage/migrations.hpp"
#include "storage/pg.hpp"

namespace {

using namespace pay;

constexpr std::int64_t actors_max = 1'000'000;
/// Far beyond any run: the actors must stay alive while memory is read.
constexpr std::int64_t idle_ms = 3'600'000;
/// Reads in flight at once while waiting for hydration, so the storage
/// actors' mailboxes stay short and transient buffers do not dominate RSS.
constexpr std::int64_t reads_in_flight_max = 2'000;
constexpr std::size_t storage_actors = 2;

/// A PSP connector that must never be called. Intent actors call the PSP
/// only for commands (create, capture, cancel, refund) and to refresh an
/// intent still pending at the PSP; the intents here are `authorized`, so
/// hydrating and reading them makes no PSP call. Each method still answers
/// (a retryable failure) so a call would show up in `psp_calls`, not hang.
class unused_connector final : public core::psp_connector {
 public:
  std::atomic<std::uint64_t> calls{0};

  void create_intent(const core::psp_create_intent&, const std::string&, std::int64_t,
                     intent_done done) override {
    fail(std::move(done));
  }
  void retrieve_intent(const std::string&, std::int64_t, intent_done done) override {
    fail(std::move(done));
  }
  void capture_intent(const core::psp_modification&, const std::string&, std::int64_t,
                      intent_done done) override {
    fail(std::move(done));
  }
  void cancel_intent(const core::psp_modification&, const std::string&, std::int64_t,
                     intent_done done) override {
    fail(std::move(done));
  }
  void create_refund(const core::psp_modification&, const std::string&, std::int64_t,
                     refund_done done) override {
    ++calls;
    done(core::psp_failure{core::psp_failure_kind::retryable, 0, "", "benchmark", "", "", "", 0});
  }
  void retrieve_refund(const std::string&, std::int64_t, refund_done done) override {
    ++calls;
    done(core::psp_failure{core::psp_failure_kind::retryable, 0, "", "benchmark", "", "", "", 0});
  }

 private:
  void fail(intent_done done) {
    ++calls;
    done(core::psp_failure{core::psp_failure_kind::retryable, 0, "", "benchmark", "", "", "", 0});
  }
};

/// VmRSS of this process in bytes, after returning freed heap to the system
/// (so memory freed by set-up does not count as the actors').
std::int64_t rss_bytes() {
  malloc_trim(0);
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // kB
  return -1;
}

int fail(const std::string& message) {
  std::cerr << "actor_memory: " << message << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 0;
  for (int i = 1; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--actors") n = std::atoll(argv[i + 1]);
  if (n < 1 || n > actors_max) return fail("usage: actor_memory --actors N (1..1000000)");
  const char* url_env = std::getenv("PAYMENTS_DATABASE_URL");
  if (url_env == nullptr || *url_env == '\0') return fail("PAYMENTS_DATABASE_URL is not set");
  std::string url = url_env;

  std::string merchant_id;
  {
    auto conn = storage::pg_connection::connect(url);
    if (!conn) return fail(conn.err().message);
    if (auto r = storage::apply_migrations(*conn, storage::embedded_migrations()); !r)
      return fail(r.err().message);
    auto id = storage::ensure_merchant(*conn, "bench-memory");
    if (!id) return fail(id.err().message);
    merchant_id = *id;
    auto inserted = conn->exec(
        "INSERT INTO payment_intents (id, merchant_id, status, amount, currency, capture_method, "
        "amount_capturable, psp, psp_reference, client_secret, version) "
        "SELECT 'pi_mem_' || g, $1, 'authorized', 1000, 'usd', 'manual', 1000, 'sandbox', "
        "'pi_psp_mem_' || g, 'pi_psp_mem_' || g || '_secret_x', 1 "
        "FROM generate_series(1, $2::bigint) AS g",
        {merchant_id, std::to_string(n)});
    if (!inserted.ok()) return fail(inserted.error->message);
  }

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", std::size_t{2});
  cfg.add_error_category(actors::error_category,
                         [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                           return actors::render_caf_error(code, ctx);
                         });
  caf::actor_system sys{cfg};
  std::vector<actors::storage_actor> storage;
  for (std::size_t i = 0; i < storage_actors; ++i)
    storage.push_back(actors::spawn_storage_actor(sys, url));
  auto connector = std::make_shared<unused_connector>();
  actors::gateway_set gateway{
      {"sandbox", actors::spawn_gateway_actor(sys, actors::gateway_config{}, connector)}};
  std::vector<actors::intent_actor> intents;
  intents.reserve(static_cast<std::size_t>(n));

  // Connect the storage actors before the baseline, so their connections
  // count as the system's and not the actors'.
  caf::scoped_actor self{sys};
  for (auto& s : storage)
    self->request(s, std::chrono::seconds(30), actors::ready_atom::value)
        .receive([](const actors::readiness&) {},
                 [](caf::error& e) { std::cerr << "storage not ready: " << to_string(e) << "\n"; });

  auto before = rss_bytes();
  auto started = std::chrono::steady_clock::now();
  std::int64_t answered = 0, failed = 0;
  std::string first_error;
  for (std::int64_t begin = 0; begin < n; begin += reads_in_flight_max) {
    auto end = std::min(n, begin + reads_in_flight_max);
    for (std::int64_t i = begin; i < end; ++i) {
      auto id = "pi_mem_" + std::to_string(i + 1);
      intents.push_back(actors::spawn_intent_actor(
          sys, id, storage[static_cast<std::size_t>(i) % storage.size()], gateway, idle_ms));
      self->send(intents.back(), actors::get_atom::value, actors::get_command{merchant_id, id});
    }
    for (std::int64_t i = begin; i < end; ++i)
      self->receive([&](const core::payment_intent&) { ++answered; },
                    [&](caf::error& e) {
                      if (first_error.empty()) first_error = to_string(e);
                      ++failed;
                    },
                    caf::after(std::chrono::seconds(60)) >> [&] { ++failed; });
  }
  auto hydrate_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto after = rss_bytes();
  if (failed > 0) return fail(std::to_string(failed) + " actors did not answer: " + first_error);

  std::printf(
      "{\"actors\":%lld,\"rss_bytes\":%lld,\"rss_before_bytes\":%lld,\"bytes_per_actor\":%.1f,"
      "\"hydrate_s\":%.3f,\"psp_calls\":%llu}\n",
      static_cast<long long>(answered), static_cast<long long>(after),
      static_cast<long long>(before),
      static_cast<double>(after - before) / static_cast<double>(answered), hydrate_s,
      static_cast<unsigned long long>(connector->calls.load()));
  std::fflush(stdout);

  for (auto& a : intents) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  intents.clear();
  for (auto& [name, g] : gateway) caf::anon_send_exit(g, caf::exit_reason::user_shutdown);
  for (auto& s : storage) caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  return 0;
}
