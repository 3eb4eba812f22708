#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

/// One background thread that runs short tasks at a given time: delayed API
/// answers (latency and hang faults), webhook deliveries and their retries,
/// and the settlement cycle. The HTTP server's I/O threads never sleep.
namespace pay::sandbox {

class timer_queue {
 public:
  using task = std::function<void()>;

  timer_queue();
  ~timer_queue();
  timer_queue(const timer_queue&) = delete;
  timer_queue& operator=(const timer_queue&) = delete;

  /// Runs `fn` on the timer thread after `delay_ms`. With `run_at_stop`, a
  /// task still waiting at stop() runs then (held API answers must be sent);
  /// otherwise it is dropped. Tasks must not block.
  void post_after(std::int64_t delay_ms, task fn, bool run_at_stop = false);

  /// Runs the run_at_stop tasks still waiting, drops the rest and joins the
  /// thread. Idempotent; afterwards post_after() runs a run_at_stop task at
  /// once on the caller's thread and drops any other.
  void stop();

 private:
  struct entry {
    std::chrono::steady_clock::time_point due;
    std::uint64_t seq;
    task fn;
    bool run_at_stop;
    bool operator>(const entry& o) const { return due != o.due ? due > o.due : seq > o.seq; }
  };

  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::priority_queue<entry, std::vector<entry>, std::greater<>> queue_;
  std::uint64_t next_seq_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pay::sandbox
