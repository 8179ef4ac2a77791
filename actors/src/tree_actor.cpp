#include <map>
#include <mutex>

#include <caf/all.hpp>

#include "fp/actors/service_actors.hpp"
#include "fp/runtime/metrics.hpp"

namespace fp::actors {

class mailbox_sample {
public:
  void store(std::map<std::string, uint64_t> by_kind) {
    std::lock_guard<std::mutex> guard{mtx_};
    by_kind_ = std::move(by_kind);
  }
  std::map<std::string, uint64_t> load() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return by_kind_;
  }

private:
  mutable std::mutex mtx_;
  std::map<std::string, uint64_t> by_kind_;
};

mailbox_sample_ptr make_mailbox_sample() {
  return std::make_shared<mailbox_sample>();
}

namespace {

struct tree_state {
  runtime::actor_directory* directory = nullptr;
  mailbox_sample_ptr sample;
  std::chrono::milliseconds describe_timeout{500};
  std::chrono::milliseconds sample_every{5000};
  static inline const char* name = "fp.tree";
};

using self_ptr = runtime::tree_actor::stateful_pointer<tree_state>;
using nodes = std::vector<runtime::actor_node>;
using done_fn = std::function<void(nodes&)>;

/// Asks every enrolled actor to describe itself; `done` gets the merged nodes
/// once all have answered or timed out. Busy actors show as "unresponsive".
void collect(self_ptr self, done_fn done) {
  struct gather {
    nodes result;
    size_t pending = 0;
    done_fn done;
  };
  auto entries = self->state.directory->snapshot();
  auto acc = std::make_shared<gather>();
  acc->done = std::move(done);
  for (auto& e : entries) {
    runtime::actor_node n;
    n.actor_id = e.actor_id;
    n.kind = e.kind;
    n.id = e.id;
    n.parent_id = e.parent_id;
    n.restarts = e.restarts;
    n.started_at_ms = e.started_at_ms;
    n.state = "unresponsive";
    acc->result.push_back(std::move(n));
  }
  auto finish_one = [acc] {
    if (--acc->pending == 0)
      acc->done(acc->result);
  };
  acc->pending = entries.size() + 1; // +1 guards against early completion
  for (size_t i = 0; i < entries.size(); ++i) {
    auto handle = caf::actor_cast<caf::actor>(entries[i].addr);
    if (!handle) {
      acc->result[i].state = "terminated";
      finish_one();
    } else if (handle.id() == self->id()) {
      acc->result[i].state = "running";
      acc->result[i].mailbox = self->mailbox().size();
      finish_one();
    } else {
      self->request(handle, self->state.describe_timeout, describe_atom_v)
        .then(
          [acc, i, finish_one](runtime::actor_status& status) {
            acc->result[i].state = std::move(status.state);
            acc->result[i].mailbox = status.mailbox;
            finish_one();
          },
          [finish_one](caf::error&) { finish_one(); });
    }
  }
  finish_one();
}

runtime::tree_actor::behavior_type
tree_impl(self_ptr self, runtime::actor_directory* directory,
          mailbox_sample_ptr sample, std::chrono::milliseconds describe_timeout,
          std::chrono::milliseconds sample_every) {
  auto& st = self->state;
  st.directory = directory;
  st.sample = std::move(sample);
  st.describe_timeout = describe_timeout;
  st.sample_every = sample_every;
  self->send(self, tick_atom_v);
  return {
    [self](describe_atom) -> runtime::actor_status {
      return {"running", self->mailbox().size()};
    },
    [self](tree_atom) {
      auto rp = self->make_response_promise<nodes>();
      collect(self, [rp](nodes& result) mutable { rp.deliver(result); });
      return rp;
    },
    [self](tick_atom) {
      collect(self, [sample = self->state.sample](nodes& result) {
        std::map<std::string, uint64_t> by_kind;
        for (auto& n : result)
          by_kind[n.kind] += n.mailbox;
        sample->store(std::move(by_kind));
      });
      self->delayed_send(self, self->state.sample_every, tick_atom_v);
    },
  };
}

} // namespace

runtime::tree_actor spawn_tree_actor(caf::local_actor* parent,
                                     runtime::actor_directory* directory,
                                     mailbox_sample_ptr sample,
                                     std::chrono::milliseconds describe_timeout,
                                     std::chrono::milliseconds sample_every) {
  return parent->spawn(tree_impl, directory, std::move(sample),
                       describe_timeout, sample_every);
}

void register_actor_metrics(runtime::metrics_registry& metrics,
                            runtime::actor_directory& directory,
                            mailbox_sample_ptr sample) {
  metrics.add_collector([&directory, sample](std::string& out) {
    out += "# HELP fp_actors_live Live actors by kind.\n"
           "# TYPE fp_actors_live gauge\n";
    for (auto& [kind, count] : directory.count_by_kind()) {
      runtime::append_series_name(out, "fp_actors_live", {"kind"}, {kind});
      out += ' ' + std::to_string(count) + '\n';
    }
    out += "# HELP fp_actor_mailbox_depth Messages waiting, summed by actor "
           "kind (sampled).\n"
           "# TYPE fp_actor_mailbox_depth gauge\n";
    for (auto& [kind, depth] : sample->load()) {
      runtime::append_series_name(out, "fp_actor_mailbox_depth", {"kind"},
                                  {kind});
      out += ' ' + std::to_string(depth) + '\n';
    }
    out += "# HELP fp_actor_restarts_total Restarts of each supervised "
           "actor slot.\n"
           "# TYPE fp_actor_restarts_total counter\n";
    for (auto& e : directory.snapshot()) {
      if (e.parent_id == 0)
        continue;
      runtime::append_series_name(out, "fp_actor_restarts_total",
                                  {"kind", "id"}, {e.kind, e.id});
      out += ' ' + std::to_string(e.restarts) + '\n';
    }
  });
}

} // namespace fp::actors
