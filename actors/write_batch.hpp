#pragma once

// The storage actor's group commit (see storage/batch.hpp and
// docs/performance.md). A batched write is not run when its message arrives:
// it is queued with its response promise, and the first queued write sends
// the actor a flush message. The mailbox is FIFO, so when the flush arrives
// every write that was already waiting behind the first one has been queued
// too; all of them then run in ONE transaction (should one fail, each runs
// again alone in its own) and are
// answered after its COMMIT. Nothing waits on a timer: under light load a
// batch holds one write and costs what a single write did; under heavy load
// the writes that queued up during one commit share the next.
//
// Reads are not batched and may run while writes wait for the flush: they
// see the state before those writes, which is a state the reader could have
// seen anyway, as no waiting write has been answered yet.

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "actors/errors.hpp"
#include "actors/messages.hpp"
#include "core/limits.hpp"
#include "storage/batch.hpp"
#include "storage/inbox.hpp"

namespace pay::actors {

class write_batch {
 public:
  /// Queues `work` (pg_connection& -> core::result<T>) and answers its
  /// result after the batch that runs it commits.
  template <class T, class Self, class Work>
  caf::typed_response_promise<T> add(Self* self, Work work) {
    auto rp = self->template make_response_promise<T>();
    auto kept = std::make_shared<std::optional<core::result<T>>>();
    items_.push_back(storage::batch_item{
        [kept, work = std::move(work)](storage::pg_connection& c) {
          kept->emplace(work(c));
          return static_cast<bool>(**kept);
        },
        [rp, kept](const std::optional<core::error>& batch_failed) mutable {
          if (batch_failed)
            rp.deliver(to_caf_error(*batch_failed));
          else if (!kept->has_value())
            rp.deliver(to_caf_error(core::make_error(core::errc::internal, "write not run")));
          else if (**kept)
            rp.deliver(std::move(***kept));
          else
            rp.deliver(to_caf_error((*kept)->err()));
        }});
    schedule(self);
    return rp;
  }

  /// Queues a webhook event; the events of one batch are stored with one
  /// multi-row INSERT.
  template <class Self>
  caf::typed_response_promise<storage::inbox_receipt> add_inbox(Self* self,
                                                                storage::inbox_item item) {
    auto rp = self->template make_response_promise<storage::inbox_receipt>();
    inbox_.push_back(std::move(item));
    inbox_promises_.push_back(rp);
    schedule(self);
    return rp;
  }

  /// Takes the writes of the next batch (at most storage_batch_items_max,
  /// the events counting as one), the multi-row event insert first; sends
  /// another flush when more are left.
  template <class Self>
  std::vector<storage::batch_item> take(Self* self) {
    scheduled_ = false;
    std::vector<storage::batch_item> out;
    if (!inbox_.empty()) {
      auto n = std::min(inbox_.size(), core::limits::storage_batch_items_max);
      out.push_back(inbox_item_of(n));
    }
    auto room = core::limits::storage_batch_items_max - out.size();
    auto n = std::min(items_.size(), room);
    out.insert(out.end(), std::make_move_iterator(items_.begin()),
               std::make_move_iterator(items_.begin() + static_cast<std::ptrdiff_t>(n)));
    items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(n));
    if (!items_.empty() || !inbox_.empty()) schedule(self);
    return out;
  }

  bool empty() const { return items_.empty() && inbox_.empty(); }

 private:
  template <class Self>
  void schedule(Self* self) {
    if (scheduled_) return;
    scheduled_ = true;
    self->send(self, flush_atom::value);
  }

  /// One batch item for the first `n` queued events: the multi-row insert;
  /// should it fail (one bad event), each event is stored on its own under
  /// its own savepoint, so the bad one fails alone.
  storage::batch_item inbox_item_of(std::size_t n) {
    auto events = std::make_shared<std::vector<storage::inbox_item>>(
        std::make_move_iterator(inbox_.begin()),
        std::make_move_iterator(inbox_.begin() + static_cast<std::ptrdiff_t>(n)));
    auto promises =
        std::make_shared<std::vector<caf::typed_response_promise<storage::inbox_receipt>>>(
            inbox_promises_.begin(), inbox_promises_.begin() + static_cast<std::ptrdiff_t>(n));
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(n));
    inbox_promises_.erase(inbox_promises_.begin(),
                          inbox_promises_.begin() + static_cast<std::ptrdiff_t>(n));
    // Per event: its receipt, or the error that kept it out.
    using outcome = std::pair<storage::inbox_receipt, std::optional<core::error>>;
    auto kept = std::make_shared<std::vector<outcome>>();
    return storage::batch_item{
        [events, kept](storage::pg_connection& c) {
          kept->clear();
          std::optional<core::result<std::vector<storage::inbox_receipt>>> all;
          auto failed =
              c.transaction([&](storage::pg_connection& tx) -> std::optional<storage::db_error> {
                all.emplace(storage::inbox_add_many(tx, *events));
                if (*all) return std::nullopt;
                return storage::db_error{
                    storage::db_error_kind::program, "", "multi-row insert failed", {}};
              });
          if (!failed && all && *all) {
            for (auto& r : **all) kept->push_back({r, std::nullopt});
            return true;
          }
          if (!c.healthy()) return false;
          for (const auto& e : *events) {
            std::optional<core::result<storage::inbox_receipt>> one;
            c.transaction([&](storage::pg_connection& tx) -> std::optional<storage::db_error> {
              one.emplace(storage::inbox_add(tx, e));
              if (*one) return std::nullopt;
              return storage::db_error{storage::db_error_kind::program, "", "insert failed", {}};
            });
            if (one && *one)
              kept->push_back({**one, std::nullopt});
            else if (one)
              kept->push_back({{}, one->err()});
            else
              kept->push_back(
                  {{},
                   core::make_error(core::errc::storage_unavailable,
                                    "The database is unavailable; retry the request.")});
            if (!c.healthy()) return false;
          }
          return true;
        },
        [promises, kept](const std::optional<core::error>& batch_failed) mutable {
          for (std::size_t i = 0; i < promises->size(); ++i) {
            auto& rp = (*promises)[i];
            if (batch_failed)
              rp.deliver(to_caf_error(*batch_failed));
            else if (i >= kept->size())
              rp.deliver(to_caf_error(
                  core::make_error(core::errc::storage_unavailable,
                                   "The database is unavailable; retry the request.")));
            else if ((*kept)[i].second)
              rp.deliver(to_caf_error(*(*kept)[i].second));
            else
              rp.deliver((*kept)[i].first);
          }
        }};
  }

  std::vector<storage::batch_item> items_;
  std::vector<storage::inbox_item> inbox_;
  std::vector<caf::typed_response_promise<storage::inbox_receipt>> inbox_promises_;
  bool scheduled_ = false;
};

}  // namespace pay::actors
