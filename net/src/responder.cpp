#include "fp/net/responder.hpp"

#include "fp/net/problem.hpp"

namespace fp::net {

stream_writer::~stream_writer() {
  // nop
}

responder::responder(request_context ctx) : ctx_(std::move(ctx)) {
  // nop
}

responder::~responder() {
  // nop
}

bool responder::send(http_response res) {
  if (answered_.exchange(true, std::memory_order_acq_rel))
    return false;
  deliver(std::move(res));
  return true;
}

bool responder::fail(const caf::error& err) {
  if (answered())
    return false;
  return send(from_error(err, ctx_));
}

stream_writer_ptr responder::start_stream(header_list headers) {
  if (answered_.exchange(true, std::memory_order_acq_rel))
    return nullptr;
  return open_stream(std::move(headers));
}

namespace {

class capturing_responder final : public responder {
public:
  capturing_responder(request_context ctx,
                      std::function<void(http_response)> fn)
    : responder(std::move(ctx)), fn_(std::move(fn)) {
    // nop
  }

protected:
  void deliver(http_response res) override {
    fn_(std::move(res));
  }

  stream_writer_ptr open_stream(header_list) override {
    return nullptr;
  }

private:
  std::function<void(http_response)> fn_;
};

} // namespace

responder_ptr make_capturing_responder(request_context ctx,
                                       std::function<void(http_response)> fn) {
  return std::make_shared<capturing_responder>(std::move(ctx), std::move(fn));
}

} // namespace fp::net
