#include "actors/inspector.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include <caf/atom.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/type_nr.hpp>

namespace pay::actors::inspector {

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string breaker_state_now(const actor_view& v, std::int64_t now_ms) {
  if (v.kind == kind::psp_gateway && v.state == "open" && v.open_until_ms != 0 &&
      now_ms >= v.open_until_ms)
    return "half_open";
  return v.state;
}

namespace {

/// Records spread over a few locks by key, so spawning many intent actors
/// at once does not queue on one mutex.
struct shard {
  std::mutex mutex;
  record* head = nullptr;  ///< an intrusive list through record::next
};

constexpr std::size_t shard_count = 16;

std::array<shard, shard_count>& shards() {
  static std::array<shard, shard_count> all;
  return all;
}

shard& shard_of(std::string_view key) {
  return shards()[std::hash<std::string_view>{}(key) % shard_count];
}

actor_view copy(const record& r) {
  actor_view v;
  v.kind = r.kind;
  v.key = r.key;
  v.state = r.state.load(std::memory_order_relaxed);
  v.version = r.version.load(std::memory_order_relaxed);
  v.handled = r.handled.load(std::memory_order_relaxed);
  if (auto atom = r.last_message.load(std::memory_order_relaxed); atom != 0)
    v.last_message = caf::to_string(static_cast<caf::atom_value>(atom));
  v.last_ms = r.last_ms.load(std::memory_order_relaxed);
  v.started_ms = r.started_ms;
  v.mailbox = r.mailbox.load(std::memory_order_relaxed);
  v.restarts = r.restarts.load(std::memory_order_relaxed);
  if (const auto* g = r.gateway.get()) {
    v.in_flight = g->in_flight.load(std::memory_order_relaxed);
    v.failures_consecutive = g->failures_consecutive.load(std::memory_order_relaxed);
    v.trips = g->trips.load(std::memory_order_relaxed);
    v.open_until_ms = g->open_until_ms.load(std::memory_order_relaxed);
    auto samples = g->latency.samples();
    std::sort(samples.begin(), samples.end());
    v.latencies_ms = std::move(samples);
  }
  return v;
}

/// Intent actors are the many; the few infrastructure actors list first.
bool listed_before(const actor_view& a, const actor_view& b) {
  bool a_intent = a.kind == kind::payment_intent;
  bool b_intent = b.kind == kind::payment_intent;
  if (a_intent != b_intent) return b_intent;
  if (a.kind != b.kind) return a.kind < b.kind;
  return a.key < b.key;
}

}  // namespace

// ---- latency_window -------------------------------------------------------------

void latency_window::add(std::int64_t ms) {
  auto n = count_.load(std::memory_order_relaxed);
  ring_[n % ring_.size()].store(ms, std::memory_order_relaxed);
  count_.store(n + 1, std::memory_order_release);
}

std::vector<std::int64_t> latency_window::samples() const {
  auto n = std::min<std::uint64_t>(count_.load(std::memory_order_acquire), ring_.size());
  std::vector<std::int64_t> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(ring_[i].load(std::memory_order_relaxed));
  return out;
}

// ---- registration ---------------------------------------------------------------

void registration::enroll(const char* kind, std::string key, bool gateway) {
  if (enrolled_) return;  // once per actor
  rec_.kind = kind;
  rec_.key = std::move(key);
  rec_.started_ms = unix_ms();
  if (gateway) rec_.gateway = std::make_unique<gateway_stats>();
  auto& s = shard_of(rec_.key);
  std::lock_guard<std::mutex> guard(s.mutex);
  rec_.next = s.head;
  if (s.head != nullptr) s.head->prev = &rec_;
  s.head = &rec_;
  enrolled_ = true;
}

registration::~registration() {
  if (!enrolled_) return;
  auto& s = shard_of(rec_.key);
  std::lock_guard<std::mutex> guard(s.mutex);
  if (rec_.prev != nullptr)
    rec_.prev->next = rec_.next;
  else
    s.head = rec_.next;
  if (rec_.next != nullptr) rec_.next->prev = rec_.prev;
}

void registration::on_message(caf::scheduled_actor* self) {
  if (!enrolled_) return;
  auto& r = rec_;
  r.handled.fetch_add(1, std::memory_order_relaxed);
  r.last_ms.store(unix_ms(), std::memory_order_relaxed);
  if (auto* element = self->current_mailbox_element()) {
    const auto& content = element->content();
    if (content.size() > 0 && content.type_nr(0) == caf::type_nr<caf::atom_value>::value)
      r.last_message.store(static_cast<std::uint64_t>(content.get_as<caf::atom_value>(0)),
                           std::memory_order_relaxed);
  }
  r.mailbox.store(self->mailbox().size(), std::memory_order_relaxed);
}

void registration::set_state(const char* state) {
  rec_.state.store(state, std::memory_order_relaxed);
}

void registration::set_state(std::string_view state, std::int64_t version) {
  // The FSM's names are string literals, so data() is a terminated static string.
  rec_.state.store(state.data(), std::memory_order_relaxed);
  rec_.version.store(version, std::memory_order_relaxed);
}

void registration::set_gateway(std::string_view breaker_state, std::uint64_t in_flight,
                               std::uint64_t failures_consecutive, std::uint64_t trips,
                               std::int64_t retry_after_ms) {
  auto* g = rec_.gateway.get();
  if (g == nullptr) return;
  rec_.state.store(breaker_state.data(), std::memory_order_relaxed);
  g->in_flight.store(in_flight, std::memory_order_relaxed);
  g->failures_consecutive.store(failures_consecutive, std::memory_order_relaxed);
  g->trips.store(trips, std::memory_order_relaxed);
  g->open_until_ms.store(retry_after_ms > 0 ? unix_ms() + retry_after_ms : 0,
                         std::memory_order_relaxed);
}

void registration::add_latency(std::int64_t ms) {
  if (auto* g = rec_.gateway.get()) g->latency.add(ms);
}

// ---- readers --------------------------------------------------------------------

listing list(std::string_view kind_filter, std::size_t limit) {
  listing out;
  std::map<std::string, std::uint64_t, std::less<>> counts;
  std::vector<actor_view> infrastructure;
  for (auto& s : shards()) {
    std::lock_guard<std::mutex> guard(s.mutex);
    for (const auto* r = s.head; r != nullptr; r = r->next) {
      ++counts[r->kind];
      ++out.total;
      if (!kind_filter.empty() && kind_filter != r->kind) continue;
      // The few infrastructure actors are always kept, so a crowd of intent
      // actors never hides the router or a gateway.
      if (std::string_view(r->kind) != kind::payment_intent)
        infrastructure.push_back(copy(*r));
      else if (out.actors.size() < limit)
        out.actors.push_back(copy(*r));
    }
  }
  std::sort(infrastructure.begin(), infrastructure.end(), listed_before);
  std::sort(out.actors.begin(), out.actors.end(), listed_before);
  infrastructure.insert(infrastructure.end(), std::make_move_iterator(out.actors.begin()),
                        std::make_move_iterator(out.actors.end()));
  if (infrastructure.size() > limit) infrastructure.resize(limit);
  out.actors = std::move(infrastructure);
  out.counts.assign(counts.begin(), counts.end());
  return out;
}

std::vector<kind_summary> summarize() {
  std::map<std::string_view, kind_summary, std::less<>> by_kind;
  for (auto& s : shards()) {
    std::lock_guard<std::mutex> guard(s.mutex);
    for (const auto* r = s.head; r != nullptr; r = r->next) {
      auto& k = by_kind[r->kind];
      auto depth = r->mailbox.load(std::memory_order_relaxed);
      ++k.live;
      k.mailbox_total += depth;
      k.mailbox_max = std::max(k.mailbox_max, depth);
    }
  }
  std::vector<kind_summary> out;
  out.reserve(by_kind.size());
  for (auto& [kind, k] : by_kind) {
    k.kind = kind;
    out.push_back(std::move(k));
  }
  return out;
}

std::optional<actor_view> find(std::string_view kind, std::string_view key) {
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> guard(s.mutex);
  for (const auto* r = s.head; r != nullptr; r = r->next)
    if (r->key == key && kind == r->kind) return copy(*r);
  return std::nullopt;
}

std::string numbered(std::string_view prefix) {
  static std::atomic<std::uint64_t> next{0};
  return std::string(prefix) + "-" + std::to_string(next.fetch_add(1) + 1);
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, int p) {
  if (sorted.empty()) return 0;
  // Nearest rank: the smallest value with at least p% of samples at or below it.
  auto rank = (static_cast<std::size_t>(p) * sorted.size() + 99) / 100;
  if (rank == 0) rank = 1;
  return sorted[std::min(rank, sorted.size()) - 1];
}

namespace {

struct routing_memory {
  std::mutex mutex;
  std::deque<routing_decision> recent;  ///< newest first
};

routing_memory& routing_log() {
  static routing_memory m;
  return m;
}

}  // namespace

void record_routing(routing_decision d) {
  auto& m = routing_log();
  std::lock_guard<std::mutex> guard(m.mutex);
  m.recent.push_front(std::move(d));
  while (m.recent.size() > core::limits::routing_recent_decisions_max) m.recent.pop_back();
}

std::vector<routing_decision> recent_routing() {
  auto& m = routing_log();
  std::lock_guard<std::mutex> guard(m.mutex);
  return {m.recent.begin(), m.recent.end()};
}

}  // namespace pay::actors::inspector
