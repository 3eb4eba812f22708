#include "core/ttl_cache.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using pay::core::ttl_cache;
using namespace std::chrono_literals;

namespace {
using cache = ttl_cache<std::string, int>;
const cache::clock::time_point t0{};
}  // namespace

TEST_CASE("ttl_cache: a stored value is found until its time to live has passed") {
  cache c(2s, 10);
  CHECK_FALSE(c.find("a", t0).has_value());
  c.put("a", 1, t0);
  CHECK(c.find("a", t0 + 1999ms) == 1);
  CHECK_FALSE(c.find("a", t0 + 2s).has_value());
  CHECK(c.size() == 0);  // the expired entry was dropped when found expired
}

TEST_CASE("ttl_cache: put replaces and restarts the time to live, erase forgets") {
  cache c(2s, 10);
  c.put("a", 1, t0);
  c.put("a", 2, t0 + 1s);
  CHECK(c.find("a", t0 + 2500ms) == 2);
  c.erase("a");
  CHECK_FALSE(c.find("a", t0 + 2500ms).has_value());
  c.erase("never stored");  // nothing to forget is fine
  CHECK(c.size() == 0);
}

TEST_CASE("ttl_cache: a held value the keep rule prefers is not overwritten while it lives") {
  cache c(2s, 10);
  auto newer_held = [](int held, int got) { return held > got; };
  c.put("rules", 7, t0);
  c.put("rules", 6, t0 + 1s, newer_held);  // a read that raced the write of 7
  CHECK(c.find("rules", t0 + 1s) == 7);
  c.put("rules", 8, t0 + 1s, newer_held);
  CHECK(c.find("rules", t0 + 1s) == 8);
  // Once the held value expired, any value is stored.
  c.put("rules", 3, t0 + 10s, newer_held);
  CHECK(c.find("rules", t0 + 10s) == 3);
}

TEST_CASE("ttl_cache: a full cache drops expired entries first, then everything") {
  cache c(2s, 3);
  c.put("a", 1, t0);
  c.put("b", 2, t0);
  c.put("c", 3, t0 + 1s);
  // Full: "a" and "b" have expired at t0 + 2.5 s and make room.
  c.put("d", 4, t0 + 2500ms);
  CHECK(c.size() == 2);
  CHECK(c.find("c", t0 + 2500ms) == 3);
  CHECK(c.find("d", t0 + 2500ms) == 4);
  c.put("e", 5, t0 + 2500ms);
  CHECK(c.size() == 3);
  // Full of live entries: all are dropped, the new one kept.
  c.put("f", 6, t0 + 2600ms);
  CHECK(c.size() == 1);
  CHECK(c.find("f", t0 + 2600ms) == 6);
  // Replacing a held key in a full cache drops nothing.
  c.put("g", 7, t0 + 2600ms);
  c.put("h", 8, t0 + 2600ms);
  c.put("g", 9, t0 + 2600ms);
  CHECK(c.size() == 3);
}

TEST_CASE("ttl_cache: threads sharing one cache see each other's values") {
  ttl_cache<int, int> c(60s, 1'000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&c, t] {
      for (int i = 0; i < 200; ++i) c.put(t * 1'000 + i, i, ttl_cache<int, int>::clock::now());
    });
  for (auto& th : threads) th.join();
  CHECK(c.size() == 800);
  CHECK(c.find(3'199, ttl_cache<int, int>::clock::now()) == 199);
}
