#pragma once

// A small map whose entries expire a fixed time after they were stored:
// answers of the database kept for a short, named time (core/limits.hpp) so
// a hot path need not read them on every request. Safe to share between
// threads. What a cache may serve stale is bounded by its time to live;
// the writer of a value erases (or replaces) its entry, so within one
// process a change is seen at once.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

namespace pay::core {

template <class Key, class Value>
class ttl_cache {
 public:
  using clock = std::chrono::steady_clock;

  /// Entries live `ttl`; at most `entries_max` are held (when full, the
  /// expired ones are dropped, and if that frees nothing, all of them: a
  /// cache refills on use).
  ttl_cache(clock::duration ttl, std::size_t entries_max) : ttl_(ttl), entries_max_(entries_max) {}

  ttl_cache(const ttl_cache&) = delete;
  ttl_cache& operator=(const ttl_cache&) = delete;

  /// The value stored for `key`, unless there is none or it has expired.
  std::optional<Value> find(const Key& key, clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (now >= it->second.expires) {
      entries_.erase(it);
      return std::nullopt;
    }
    return it->second.value;
  }

  /// Stores `value` for `key` until now + ttl.
  void put(const Key& key, Value value, clock::time_point now) {
    put(key, std::move(value), now, [](const Value&, const Value&) { return false; });
  }

  /// Stores `value` for `key` until now + ttl, unless a live entry is held
  /// that `keep(held, value)` prefers: a reader that raced a writer does not
  /// put back what the writer replaced.
  template <class Keep>
  void put(const Key& key, Value value, clock::time_point now, Keep keep) {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key);
        it != entries_.end() && now < it->second.expires && keep(it->second.value, value))
      return;
    if (entries_.size() >= entries_max_ && entries_.find(key) == entries_.end()) {
      std::erase_if(entries_, [now](const auto& e) { return now >= e.second.expires; });
      if (entries_.size() >= entries_max_) entries_.clear();
    }
    entries_.insert_or_assign(key, entry{std::move(value), now + ttl_});
  }

  /// Forgets `key` (its value changed).
  void erase(const Key& key) {
    std::lock_guard lock(mutex_);
    entries_.erase(key);
  }

  /// How many entries are held (expired ones not yet dropped included).
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  struct entry {
    Value value;
    clock::time_point expires;
  };
  const clock::duration ttl_;
  const std::size_t entries_max_;
  mutable std::mutex mutex_;
  std::unordered_map<Key, entry> entries_;
};

}  // namespace pay::core
