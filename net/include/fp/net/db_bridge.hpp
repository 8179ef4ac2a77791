#pragma once

// Running repository functions from handlers: the work goes to the storage
// pool as a db_task (it may block there), the result comes back on a CAF
// thread through the bridge; io threads never wait.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "fp/net/bridge.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/type_ids.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/storage_pool.hpp"

namespace fp::net {

/// Runs `work` on the storage pool in `pool_slot` (in a transaction unless
/// `transactional` is false, for work that manages its own) and calls
/// exactly one of `on_ok(T&&)` or `on_err(caf::error&&)` on a CAF thread.
/// `work` may run more than once (retries), so it must only touch the
/// database and its own locals. `label` is a fixed metric label.
template <class T, class Work, class OnOk, class OnErr>
void run_db(caf::actor_system& sys, const runtime::actor_slot_ptr& pool_slot,
            std::chrono::milliseconds timeout, std::string label, Work work,
            OnOk on_ok, OnErr on_err, bool transactional = true) {
  auto out = std::make_shared<std::optional<T>>();
  storage::db_task task;
  task.label = std::move(label);
  task.transactional = transactional;
  task.run = [out, work = std::move(work)](storage::pg_session& db) mutable
    -> caf::error {
    caf::expected<T> r = work(db);
    if (!r)
      return std::move(r.error());
    *out = std::move(*r);
    return caf::none;
  };
  auto pool = pool_slot ? pool_slot->get_as<storage::storage_pool_actor>()
                        : storage::storage_pool_actor{};
  ask<uint32_t>(
    sys, pool, timeout,
    [out, ok = std::move(on_ok)](uint32_t) mutable { ok(std::move(**out)); },
    std::move(on_err), fp::run_atom_v, std::move(task));
}

} // namespace fp::net
