#include "sandbox/timer_queue.hpp"

namespace pay::sandbox {

timer_queue::timer_queue() : thread_([this] { run(); }) {}

timer_queue::~timer_queue() {
  stop();
}

void timer_queue::post_after(std::int64_t delay_ms, task fn, bool run_at_stop) {
  {
    std::lock_guard guard{mutex_};
    if (!stopping_) {
      auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
      queue_.push(entry{due, next_seq_++, std::move(fn), run_at_stop});
      fn = nullptr;
    }
  }
  if (fn) {
    // Stopped already: what must run at stop runs now, the rest is dropped.
    if (run_at_stop) fn();
    return;
  }
  wake_.notify_one();
}

void timer_queue::stop() {
  {
    std::lock_guard guard{mutex_};
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void timer_queue::run() {
  std::unique_lock lock{mutex_};
  for (;;) {
    if (stopping_) break;
    if (queue_.empty()) {
      wake_.wait(lock);
      continue;
    }
    auto due = queue_.top().due;
    if (std::chrono::steady_clock::now() < due) {
      wake_.wait_until(lock, due);
      continue;
    }
    auto fn = std::move(const_cast<entry&>(queue_.top()).fn);
    queue_.pop();
    lock.unlock();
    fn();
    lock.lock();
  }
  // Stopping: answer what must be answered, drop the rest.
  std::vector<task> last;
  while (!queue_.empty()) {
    auto& top = const_cast<entry&>(queue_.top());
    if (top.run_at_stop) last.push_back(std::move(top.fn));
    queue_.pop();
  }
  lock.unlock();
  for (auto& fn : last) fn();
}

}  // namespace pay::sandbox
