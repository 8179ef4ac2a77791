// The LLM gateway: dedicated threads for blocking provider calls.

#include "agent_engine_internal.hpp"

namespace fp::actors::detail {

llm_gateway::llm_gateway(unsigned threads) {
  if (threads == 0)
    threads = 1;
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this] { loop(); });
}

llm_gateway::~llm_gateway() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void llm_gateway::submit(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
}

std::size_t llm_gateway::busy() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return queue_.size() + running_;
}

void llm_gateway::loop() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock<std::mutex> guard{mtx_};
      cv_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
      // Queued calls are dropped on stop: their execution actors are gone
      // with the engine, and their jobs are rescued after the lease.
      if (stopping_)
        return;
      work = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    try {
      work();
    } catch (...) {
      // A throwing provider must not take the thread down; the call's
      // owner times out.
    }
    std::lock_guard<std::mutex> guard{mtx_};
    --running_;
  }
}

} // namespace fp::actors::detail
