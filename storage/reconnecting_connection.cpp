#include "storage/reconnecting_connection.hpp"

#include <utility>

#include "core/limits.hpp"
#include "core/log.hpp"

namespace pay::storage {

namespace {

core::error unavailable() {
  return core::make_error(core::errc::storage_unavailable,
                          "The database is unavailable; retry the request.");
}

}  // namespace

reconnecting_connection::reconnecting_connection(std::string url, std::string who, setup_fn setup)
    : url_(std::move(url)),
      who_(std::move(who)),
      setup_(std::move(setup)),
      policy_{core::limits::db_reconnect_backoff_base_ms,
              core::limits::db_reconnect_backoff_ceiling_ms, 0, 0} {}

void reconnecting_connection::reset() {
  if (conn_ && conn_->timed_out()) {
    auto delay_ms = core::full_jitter_delay_ms(policy_, failed_connects_++, rng_());
    next_connect_ = clock_type::now() + std::chrono::milliseconds(delay_ms);
  }
  conn_.reset();
}

core::result<pg_connection*> reconnecting_connection::get() {
  if (conn_ && conn_->healthy()) return &*conn_;
  reset();
  if (clock_type::now() < next_connect_) return unavailable();
  auto fresh = pg_connection::connect(url_);
  core::status ready = core::status::ok();
  if (fresh && setup_) ready = setup_(*fresh);
  if (!fresh || !ready) {
    auto delay_ms = core::full_jitter_delay_ms(policy_, failed_connects_++, rng_());
    next_connect_ = clock_type::now() + std::chrono::milliseconds(delay_ms);
    core::log::warn(who_ + ": database connect failed",
                    {{"error", fresh ? ready.err().message : fresh.err().message},
                     {"retry_in_ms", std::to_string(delay_ms)}});
    return unavailable();
  }
  if (failed_connects_ > 0) core::log::info(who_ + ": database connection restored");
  failed_connects_ = 0;
  conn_.emplace(std::move(*fresh));
  return &*conn_;
}

}  // namespace pay::storage
